import { App } from 'cdk8s';
import { Construct } from 'constructs';
import {
  ApplicationDefinition,
  CronJobDefinition,
  DEFINITION_SCHEMAS,
  DefinitionKind,
  FunctionDefinition,
  StatelessApplicationDefinition,
} from './definition-schema';
import { propsOfCheckedDefinition } from './check-props';
import { CronJobApplication } from './cron-job-application';
import { FunctionService } from './function-service';
import { SourceRuntimeName } from './function-rules';
import { passedSchema } from './parse-definition';
import { ProjectChart } from './project-chart';
import { ProjectTenancyOptions } from './project-tenancy';
import { Schedule } from './schedule';
import { StatelessApplication } from './stateless-application';

/** How definitions become charts. */
export interface BuildProjectChartsOptions {
  /**
   * Maps a project to its namespace.
   * @default - the namespace is the project name
   */
  readonly namespaceForProject?: (project: string) => string;
  /**
   * Tenancy settings applied to every project.
   * @default - the defaults of {@link ProjectTenancyOptions}
   */
  readonly tenancy?: ProjectTenancyOptions;
  /**
   * Tenancy settings of one project (the platform settings' per-project overrides).
   * @default - {@link tenancy} for every project
   */
  readonly tenancyForProject?: (project: string) => ProjectTenancyOptions;
  /**
   * Images that run source Functions, e.g. a private registry mirror.
   * @default - python:3.12-slim and node:20-slim
   */
  readonly functionRuntimeImages?: Readonly<Partial<Record<SourceRuntimeName, string>>>;
}

/** Applications already built in a chart, by name (CronJobs look their templates up here). */
type BuiltApplications = Map<string, Construct>;

type Builder<D extends ApplicationDefinition> = (
  chart: ProjectChart,
  definition: D,
  built: BuiltApplications,
  options: BuildProjectChartsOptions,
) => Construct;

/**
 * One builder per kind, in build order: templates (StatelessApplications) before the CronJobs
 * that copy them. A new kind is a schema in DEFINITION_SCHEMAS plus a builder here.
 */
const BUILDERS: {
  readonly [K in DefinitionKind]: Builder<Extract<ApplicationDefinition, { kind: K }>>;
} = {
  StatelessApplication: (chart, d: StatelessApplicationDefinition) =>
    new StatelessApplication(
      chart,
      d.metadata.name,
      checkedOnce(d, { ...d.spec, labels: d.metadata.labels }),
    ),
  CronJob: (chart, d: CronJobDefinition, built) => {
    const { template, schedule, ...spec } = d.spec;
    return new CronJobApplication(
      chart,
      d.metadata.name,
      checkedOnce(d, {
        ...spec,
        template:
          template === undefined ? undefined : (built.get(template) as StatelessApplication),
        schedule: Schedule.cron(schedule),
        labels: d.metadata.labels,
      }),
    );
  },
  Function: (chart, d: FunctionDefinition, _built, options) => {
    // `source` is a path the YAML door has read into `files` (see checkDefinitions).
    const { source, ...spec } = d.spec;
    if (source !== undefined && spec.files === undefined) {
      throw new Error(
        `Function ${JSON.stringify(d.metadata.name)}: spec.source ${JSON.stringify(source)} was not read; load definitions with loadDefinitions, or give code or files`,
      );
    }
    return new FunctionService(chart, d.metadata.name, {
      ...spec,
      labels: d.metadata.labels,
      runtimeImages: options.functionRuntimeImages,
    });
  },
};

const KIND_ORDER = Object.keys(DEFINITION_SCHEMAS) as DefinitionKind[];

/** The props of a definition the schema passed as it is skip the construct's own check. */
function checkedOnce<T extends object>(definition: ApplicationDefinition, props: T): T {
  return passedSchema(definition) ? propsOfCheckedDefinition(props) : props;
}

/**
 * Builds one {@link ProjectChart} per project from checked definitions. Charts and
 * applications are ordered by name (and kind), not by input order, so that moving a document
 * between files changes no output.
 */
export function buildProjectCharts(
  app: App,
  definitions: readonly ApplicationDefinition[],
  options: BuildProjectChartsOptions = {},
): ProjectChart[] {
  const projects = [...new Set(definitions.map((d) => d.metadata.project))].sort();
  return projects.map((project) => {
    const chart = new ProjectChart(app, project, {
      project,
      namespace: options.namespaceForProject?.(project),
      tenancy: options.tenancyForProject?.(project) ?? options.tenancy,
    });
    const built: BuiltApplications = new Map();
    const ordered = definitions
      .filter((d) => d.metadata.project === project)
      .sort(
        (a, b) =>
          KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
          compareNames(a.metadata.name, b.metadata.name),
      );
    for (const definition of ordered) {
      const build = BUILDERS[definition.kind] as Builder<ApplicationDefinition>;
      built.set(definition.metadata.name, build(chart, definition, built, options));
    }
    return chart;
  });
}

/** Locale-independent, so output is the same on every machine. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
