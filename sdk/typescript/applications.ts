import { Http, projectPath, segment } from './http';
import type {
  ApplicationDefinition,
  ApplicationView,
  ApplyResult,
  DeleteResult,
  DryRunResult,
  ItemList,
} from './types';

/** `/api/v1/projects/{project}/applications` and `/manifests`: definitions of any kind. */
export class ApplicationsApi {
  constructor(private readonly http: Http) {}

  /**
   * Creates an application from a definition; the project is `metadata.project`.
   * Fails with a 409 `HksApiError` when the name exists (see {@link replace}).
   */
  public create(definition: ApplicationDefinition): Promise<ApplyResult> {
    return this.http.json({
      method: 'POST',
      path: `${projectPath(definition.metadata.project)}/applications`,
      json: definition,
    });
  }

  /** The manifests a definition would produce, without applying anything. */
  public dryRun(definition: ApplicationDefinition): Promise<DryRunResult> {
    return this.http.json({
      method: 'POST',
      path: `${projectPath(definition.metadata.project)}/applications`,
      query: { dryRun: true },
      json: definition,
    });
  }

  /** The applications of a project, by name. */
  public async list(project: string): Promise<ApplicationView[]> {
    const list = await this.http.json<ItemList<ApplicationView>>({
      method: 'GET',
      path: `${projectPath(project)}/applications`,
    });
    return list.items;
  }

  /** One application's stored definition and version. */
  public get(project: string, name: string): Promise<ApplicationView> {
    return this.http.json({
      method: 'GET',
      path: `${projectPath(project)}/applications/${segment(name)}`,
    });
  }

  /**
   * Creates or replaces an application; objects the new version no longer produces are
   * pruned. The project and name are the definition's.
   */
  public replace(definition: ApplicationDefinition): Promise<ApplyResult> {
    const { project, name } = definition.metadata;
    return this.http.json({
      method: 'PUT',
      path: `${projectPath(project)}/applications/${segment(name)}`,
      json: definition,
    });
  }

  /**
   * Deletes an application and its objects.
   * @param options.purgeHistory also delete its execution history. @default false
   */
  public delete(
    project: string,
    name: string,
    options: { readonly purgeHistory?: boolean } = {},
  ): Promise<DeleteResult> {
    return this.http.json({
      method: 'DELETE',
      path: `${projectPath(project)}/applications/${segment(name)}`,
      query: { purgeHistory: options.purgeHistory || undefined },
    });
  }

  /** The whole project as multi-document YAML, exactly what `npm run synth` writes. */
  public manifests(project: string): Promise<string> {
    return this.http.text({ method: 'GET', path: `${projectPath(project)}/manifests` });
  }
}
