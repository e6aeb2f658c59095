import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkProps, propsAlreadyChecked } from './check-props';
import { applicationLabels } from './labels';
import { ProjectChart } from './project-chart';
import { Schedule } from './schedule';
import { StatelessApplication } from './stateless-application';
import { workloadContainerSchema } from './definition-schema';
import { CRON_JOB_SPEC_DEFAULTS } from './generated/definition-defaults';
import type { ApplicationLabelsProps, CronJobSpecProps } from './generated/definition-props';
import { WorkloadContainerProps, workloadContainer, workloadPod } from './workload-container';

/**
 * Props of a {@link CronJobApplication}: the fields of a CronJob's spec (declared with their
 * defaults in the definition schema), with the template and the schedule as objects.
 */
export interface CronJobApplicationProps
  extends Omit<CronJobSpecProps, 'template' | 'schedule'>, ApplicationLabelsProps {
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
}

export { CRON_JOB_SPEC_DEFAULTS } from './generated/definition-defaults';

/** Default starting deadline: see {@link CronJobApplicationProps.startingDeadlineSeconds}. */
export const DEFAULT_STARTING_DEADLINE_SECONDS = CRON_JOB_SPEC_DEFAULTS.startingDeadlineSeconds;

/** Container fields of the template a job does not copy: a job runs its own command. */
const NOT_COPIED_FROM_TEMPLATE: ReadonlySet<string> = new Set(['command', 'args']);

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
    if (!propsAlreadyChecked(props))
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
      concurrencyPolicy: (props.concurrencyPolicy ??
        CRON_JOB_SPEC_DEFAULTS.concurrencyPolicy) as kplus.ConcurrencyPolicy,
      suspend: props.suspend ?? CRON_JOB_SPEC_DEFAULTS.suspend,
      startingDeadline: Duration.seconds(
        props.startingDeadlineSeconds ?? CRON_JOB_SPEC_DEFAULTS.startingDeadlineSeconds,
      ),
      activeDeadline:
        props.activeDeadlineSeconds === undefined
          ? undefined
          : Duration.seconds(props.activeDeadlineSeconds),
      backoffLimit: props.backoffLimit ?? CRON_JOB_SPEC_DEFAULTS.backoffLimit,
      restartPolicy: (props.restartPolicy ??
        CRON_JOB_SPEC_DEFAULTS.restartPolicy) as kplus.RestartPolicy,
      successfulJobsRetained:
        props.successfulJobsHistoryLimit ?? CRON_JOB_SPEC_DEFAULTS.successfulJobsHistoryLimit,
      failedJobsRetained:
        props.failedJobsHistoryLimit ?? CRON_JOB_SPEC_DEFAULTS.failedJobsHistoryLimit,
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

/**
 * The template's container (but for {@link NOT_COPIED_FROM_TEMPLATE}) with this job's
 * container fields over it; env and secretEnv merge by name.
 */
function mergeContainer(
  template: WorkloadContainerProps | undefined,
  own: Readonly<Record<string, unknown>>,
): WorkloadContainerProps {
  const containerField = (name: string) => name in workloadContainerSchema.shape;
  const copied = Object.entries(template ?? {}).filter(
    ([name]) => !NOT_COPIED_FROM_TEMPLATE.has(name),
  );
  const given = Object.entries(own).filter(
    ([name, value]) => containerField(name) && value !== undefined,
  );
  const { env, secretEnv } = own as Partial<WorkloadContainerProps>;
  return {
    ...Object.fromEntries([...copied, ...given]),
    // A variable set here wins over the template's, whether plain or from a Secret.
    env: mergeByName(template?.env, env, secretEnv),
    secretEnv: mergeByName(template?.secretEnv, secretEnv, env),
  } as WorkloadContainerProps;
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
