import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkProps, propsAlreadyChecked } from './check-props';
import { applicationLabels, applicationSelector } from './labels';
import { ProjectChart } from './project-chart';
import { STATELESS_APPLICATION_SPEC_DEFAULTS } from './generated/definition-defaults';
import type {
  ApplicationLabelsProps,
  StatelessApplicationSpecProps,
} from './generated/definition-props';
import { WorkloadContainerProps, workloadContainer, workloadPod } from './workload-container';

/**
 * Props of a {@link StatelessApplication}: the fields of its spec, declared with their
 * defaults in the definition schema.
 */
export interface StatelessApplicationProps
  extends StatelessApplicationSpecProps, ApplicationLabelsProps {
  /**
   * Name of the Deployment, Service and pods' `app` label: a DNS label of at most 52 characters.
   * @default - the construct id
   */
  readonly name?: string;
}

export { STATELESS_APPLICATION_SPEC_DEFAULTS } from './generated/definition-defaults';

/**
 * A long-running, stateless container: a Deployment, and a Service when it has a port.
 * Pods pass Pod Security `restricted`. Its container settings can be cloned by CronJobs.
 */
export class StatelessApplication extends Construct {
  /** The application name. */
  public readonly name: string;
  /** The project the application belongs to. */
  public readonly project: string;
  /** The container settings, as CronJobs built from this application copy them. */
  public readonly container: WorkloadContainerProps;
  /** The Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The Service, when a port is set. */
  public readonly service?: kplus.Service;

  constructor(scope: Construct, id: string, props: StatelessApplicationProps) {
    super(scope, id);
    const chart = ProjectChart.find(this);
    this.name = props.name ?? id;
    this.project = chart.project;
    const { name: _name, port, replicas, labels: userLabels, ...container } = props;
    if (!propsAlreadyChecked(props))
      checkProps('StatelessApplication', this.name, this.project, userLabels, {
        ...container,
        port,
        replicas,
      });
    this.container = container;

    const labels = applicationLabels(this.project, this.name, 'StatelessApplication', userLabels);
    const pod = workloadPod(this, container);
    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: this.name, labels },
      podMetadata: { labels },
      select: false,
      replicas: replicas ?? STATELESS_APPLICATION_SPEC_DEFAULTS.replicas,
      serviceAccount: pod.serviceAccount,
      automountServiceAccountToken: pod.automountServiceAccountToken,
      securityContext: pod.securityContext,
      volumes: [pod.tmp],
      containers: [
        {
          ...workloadContainer(this, container, pod.tmp),
          ports: port === undefined ? undefined : [{ number: port, name: 'http' }],
          readiness: port === undefined ? undefined : kplus.Probe.fromTcpSocket({ port }),
        },
      ],
    });
    const selector = applicationSelector(this.project, this.name);
    this.deployment.select(kplus.LabelSelector.of({ labels: selector }));

    if (port !== undefined) {
      this.service = new kplus.Service(this, 'Service', {
        metadata: { name: this.name, labels },
        ports: [{ name: 'http', port, targetPort: port }],
      });
      for (const [key, value] of Object.entries(selector)) this.service.selectLabel(key, value);
    }
  }
}
