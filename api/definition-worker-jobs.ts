import { App } from 'cdk8s';
import {
  ApplicationDefinition,
  buildProjectCharts,
  chartOptionsFromSettings,
  LABELS,
  PlatformSettings,
} from '../constructs';
import { checkAgainstStored } from './check-against-stored';
import type { KubeObject } from './kube';
import type { StoredApplication } from './store/store';

/**
 * The CPU-heavy part of an apply, as plain JSON in and out so that it can run on a worker
 * thread: checking a request's definition against the project's other stored ones, and
 * synthesizing a definition (with its template) into manifests.
 */
export type DefinitionJob =
  | {
      readonly kind: 'check';
      /** The request body. */
      readonly body: unknown;
      /** The project's stored applications other than the body's. */
      readonly others: readonly StoredApplication[];
    }
  | {
      readonly kind: 'synthesize';
      /** The definition first, then the template it names (when stored). */
      readonly definitions: readonly ApplicationDefinition[];
      /** The project's namespace. */
      readonly namespace: string;
      /** The operator's tenancy and runtime images. @default - the defaults */
      readonly settings?: PlatformSettings;
    };

/** What each kind of job returns. */
export interface DefinitionJobResults {
  readonly check: ApplicationDefinition;
  readonly synthesize: KubeObject[];
}

/** Runs one job where it is called. @throws Problem 400/409 as {@link checkAgainstStored} */
export function runDefinitionJob<J extends DefinitionJob>(job: J): DefinitionJobResults[J['kind']] {
  const result =
    job.kind === 'check'
      ? checkAgainstStored(job.body, job.others)
      : synthesize(job.definitions, job.namespace, job.settings);
  // TypeScript does not narrow J from job.kind.
  return result as DefinitionJobResults[J['kind']];
}

/** The objects `definitions[0]` becomes, tenancy first (what synth would write for it). */
function synthesize(
  definitions: readonly ApplicationDefinition[],
  namespace: string,
  settings: PlatformSettings = {},
): KubeObject[] {
  const [definition] = definitions;
  const [chart] = buildProjectCharts(new App(), definitions, {
    ...chartOptionsFromSettings(settings),
    namespaceForProject: () => namespace,
  });
  const objects = chart.toJson() as KubeObject[];
  return objects.filter((o) => {
    const owner = o.metadata.labels?.[LABELS.app];
    return owner === undefined || owner === definition.metadata.name;
  });
}
