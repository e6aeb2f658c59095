import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkProps } from './check-props';
import { applicationLabels } from './labels';
import { ProjectChart } from './project-chart';
import { Schedule } from './schedule';
import { StatelessApplication } from './stateless-application';
import { WorkloadContainerProps, workloadContainer, workloadPod } from './workload-container';

/** Props of a {@link CronJobApplication}. */
export interface CronJobApplicationProps extends Partial<WorkloadContainerProps> {
  /**
   * Name of the CronJob: a DNS label of at most 52 characters.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * A StatelessApplication of the same project whose image, env, secretEnv, envFrom,
   * resources and serviceAccount are copied. `env` and `secretEnv` given here are merged over
   * the template's; the other fields given here replace the template's. Exactly one of
   * `template` and `image` is required.
   * @default - none: `image` must be given
   */
  readonly template?: StatelessApplication;
  /** When the job runs. */
  readonly schedule: Schedule;
  /**
   * IANA time zone the schedule is read in.
   * @default - the controller's zone (UTC on nearly every cluster)
   */
  readonly timeZone?: string;
  /**
   * What to do when a run is due while the previous one is still running.
   * Kubernetes' own default is Allow; overlapping runs of a report or batch job are rarely
   * wanted.
   * @default "Forbid"
   */
  readonly concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  /**
   * Pauses scheduling.
   * @default false
   */
  readonly suspend?: boolean;
  /**
   * A run missed by more than this (controller down, suspended) is skipped. cdk8s-plus
   * defaults to 10 s, which skips runs whenever the controller is briefly late.
   * @default 300
   */
  readonly startingDeadlineSeconds?: number;
  /**
   * Longest a run may take before it is stopped.
   * @default - no deadline
   */
  readonly activeDeadlineSeconds?: number;
  /**
   * Retries of a failed run.
   * @default 6 (Kubernetes' default)
   */
  readonly backoffLimit?: number;
  /**
   * Whether a failed container is restarted in place or a new pod is created.
   * @default "Never"
   */
  readonly restartPolicy?: 'Never' | 'OnFailure';
  /**
   * Deletes finished Jobs after this many seconds.
   * @default - finished Jobs are kept until the history limits remove them
   */
  readonly ttlSecondsAfterFinished?: number;
  /**
   * Successful Jobs kept.
   * @default 3
   */
  readonly successfulJobsHistoryLimit?: number;
  /**
   * Failed Jobs kept. Kubernetes keeps 1; more helps diagnosing flaky jobs.
   * @default 3
   */
  readonly failedJobsHistoryLimit?: number;
  /**
   * Labels copied to every object and pod.
   * @default - the platform's labels only
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Default starting deadline: see {@link CronJobApplicationProps.startingDeadlineSeconds}. */
export const DEFAULT_STARTING_DEADLINE_SECONDS = 300;

/**
 * A scheduled job on cdk8s-plus-28's CronJob, with its own image or with the container
 * settings of a StatelessApplication. Pods pass Pod Security `restricted`.
 */
export class CronJobApplication extends Construct {
  /** The CronJob name. */
  public readonly name: string;
  /** The project the job belongs to. */
  public readonly project: string;
  /** The effective container settings (after copying from the template). */
  public readonly container: WorkloadContainerProps;
  /** The schedule. */
  public readonly schedule: Schedule;
  /** The time zone of the schedule, if set. */
  public readonly timeZone?: string;
  /** The CronJob. */
  public readonly cronJob: kplus.CronJob;

  constructor(scope: Construct, id: string, props: CronJobApplicationProps) {
    super(scope, id);
    const chart = ProjectChart.find(this);
    this.name = props.name ?? id;
    this.project = chart.project;
    const { name: _name, template, schedule, labels: userLabels, ...rest } = props;
    checkProps('CronJob', this.name, this.project, userLabels, {
      ...rest,
      template: template?.name,
      schedule: schedule.expression,
    });
    if (template && template.project !== this.project) {
      throw new Error(
        `CronJob ${JSON.stringify(this.name)} in project ${JSON.stringify(this.project)} is invalid:\n  template: given ${JSON.stringify(template.name)} of project ${JSON.stringify(template.project)}, expected a StatelessApplication of the same project`,
      );
    }
    this.container = mergeContainer(template?.container, rest);
    this.schedule = schedule;
    this.timeZone = props.timeZone;

    const labels = applicationLabels(this.project, this.name, 'CronJob', userLabels);
    const pod = workloadPod(this, this.container);
    this.cronJob = new kplus.CronJob(this, 'CronJob', {
      metadata: { name: this.name, labels },
      podMetadata: { labels },
      schedule: schedule.toCron(),
      timeZone: props.timeZone,
      concurrencyPolicy: (props.concurrencyPolicy ?? 'Forbid') as kplus.ConcurrencyPolicy,
      suspend: props.suspend ?? false,
      startingDeadline: Duration.seconds(
        props.startingDeadlineSeconds ?? DEFAULT_STARTING_DEADLINE_SECONDS,
      ),
      activeDeadline:
        props.activeDeadlineSeconds === undefined
          ? undefined
          : Duration.seconds(props.activeDeadlineSeconds),
      backoffLimit: props.backoffLimit ?? 6,
      restartPolicy: (props.restartPolicy ?? 'Never') as kplus.RestartPolicy,
      successfulJobsRetained: props.successfulJobsHistoryLimit ?? 3,
      failedJobsRetained: props.failedJobsHistoryLimit ?? 3,
      serviceAccount: pod.serviceAccount,
      automountServiceAccountToken: pod.automountServiceAccountToken,
      securityContext: pod.securityContext,
      volumes: [pod.tmp],
      containers: [workloadContainer(this, this.container, pod.tmp)],
    });
    // Jobs carry the CronJob's labels, so their executions can be found and recorded.
    ApiObject.of(this.cronJob).addJsonPatch(
      JsonPatch.add('/spec/jobTemplate/metadata', { labels }),
    );
    if (props.ttlSecondsAfterFinished !== undefined) {
      // cdk8s-plus refuses a TTL next to history limits; Kubernetes allows both.
      ApiObject.of(this.cronJob).addJsonPatch(
        JsonPatch.add(
          '/spec/jobTemplate/spec/ttlSecondsAfterFinished',
          props.ttlSecondsAfterFinished,
        ),
      );
    }
  }
}

/** The template's container with this job's fields over it; env and secretEnv merge by name. */
function mergeContainer(
  template: WorkloadContainerProps | undefined,
  own: Partial<WorkloadContainerProps>,
): WorkloadContainerProps {
  const merged = {
    image: own.image ?? template?.image,
    command: own.command,
    args: own.args,
    // A variable set here wins over the template's, whether plain or from a Secret.
    env: mergeByName(template?.env, own.env, own.secretEnv),
    secretEnv: mergeByName(template?.secretEnv, own.secretEnv, own.env),
    envFrom: own.envFrom ?? template?.envFrom,
    resources: own.resources ?? template?.resources,
    serviceAccount: own.serviceAccount ?? template?.serviceAccount,
  };
  return { ...merged, image: merged.image as string };
}

function mergeByName<T>(
  inherited: Readonly<Record<string, T>> | undefined,
  own: Readonly<Record<string, T>> | undefined,
  ownOtherKind: Readonly<Record<string, unknown>> | undefined,
): Record<string, T> | undefined {
  if (!inherited && !own) return undefined;
  const kept = Object.entries(inherited ?? {}).filter(
    ([name]) => !(ownOtherKind && name in ownOtherKind),
  );
  return { ...Object.fromEntries(kept), ...own };
}
