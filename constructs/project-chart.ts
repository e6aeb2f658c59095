import { Chart } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { checkNamespaceName, checkProjectName } from './field-rules';
import { LABELS, MANAGER } from './labels';
import { ProjectTenancy, ProjectTenancyOptions } from './project-tenancy';

/** Props of a {@link ProjectChart}. */
export interface ProjectChartProps {
  /** The project (tenant) name. */
  readonly project: string;
  /**
   * Namespace of every object of the project.
   * @default - the project name
   */
  readonly namespace?: string;
  /**
   * Quota, default container resources and network exceptions of the project.
   * @default - the defaults of {@link ProjectTenancyOptions}
   */
  readonly tenancy?: ProjectTenancyOptions;
}

/**
 * All objects of one project: its tenancy (namespace, quota, limits, network policies,
 * workload ServiceAccount) and its applications. Synthesizes to one file per project, with
 * stable names (no hashes) so GitOps diffs show only real changes.
 */
const PROJECT_CHARTS = new WeakMap<IConstruct, ProjectChart>();

export class ProjectChart extends Chart {
  /** The nearest ProjectChart above a construct. */
  public static find(construct: IConstruct): ProjectChart {
    for (let scope: IConstruct | undefined = construct; scope; scope = scope.node.scope) {
      // Chart's own instanceof check narrows to Chart, so look the scope up instead.
      const chart = PROJECT_CHARTS.get(scope);
      if (chart) return chart;
    }
    throw new Error(`${construct.node.path || 'construct'}: must be created inside a ProjectChart`);
  }

  /** The project name. */
  public readonly project: string;
  /** The namespace of the project's objects. */
  public readonly projectNamespace: string;
  /** The project's tenancy objects. */
  public readonly tenancy: ProjectTenancy;

  constructor(scope: Construct, id: string, props: ProjectChartProps) {
    const namespace = props.namespace ?? props.project;
    const problems = [
      prefixed('project', checkProjectName(props.project)),
      prefixed('namespace', checkNamespaceName(namespace)),
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(`ProjectChart ${id}: ${problems.join('; ')}`);
    super(scope, id, {
      namespace,
      disableResourceNameHashes: true,
      labels: { [LABELS.managedBy]: MANAGER, [LABELS.project]: props.project },
    });
    PROJECT_CHARTS.set(this, this);
    this.project = props.project;
    this.projectNamespace = namespace;
    this.tenancy = new ProjectTenancy(this, 'Tenancy', props.tenancy);
  }
}

function prefixed(field: string, problem: string | undefined): string | undefined {
  return problem && `${field}: ${problem}`;
}
