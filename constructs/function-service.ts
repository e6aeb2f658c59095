import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as serving from '../knative/imports/serving.knative.dev';
import { checkProps } from './check-props';
import { checkImage } from './field-rules';
import {
  DEFAULT_HANDLERS,
  FunctionRuntimeName,
  handlerFiles,
  isSourceRuntime,
  SourceRuntimeName,
} from './function-rules';
import {
  DEFAULT_RUNTIME_IMAGES,
  FUNCTION_DIR,
  RUNTIME_DIR,
  SourceRuntime,
  sourceRuntime,
} from './function-runtimes';
import type { JsonValue } from './function-schedule-rules';
import { applicationLabels } from './labels';
import { ProjectChart } from './project-chart';
import {
  containerQuantities,
  ResourceRequirements,
  RESTRICTED_SECURITY_CONTEXT,
} from './restricted-container';
import { SecretKeyReference } from './workload-container';

/** How a Function scales (Knative Pod Autoscaler). */
export interface FunctionScaling {
  /** Fewest pods; 0 scales to zero when idle. @default 0 */
  readonly minScale?: number;
  /** Most pods; 0 means no limit. @default 10 */
  readonly maxScale?: number;
  /** Concurrent requests per pod the autoscaler aims at. @default 100 */
  readonly target?: number;
  /** Hard limit of concurrent requests per pod; 0 means no limit. @default 0 */
  readonly containerConcurrency?: number;
}

/**
 * A run of a Function on a cron schedule, made by the API (docs/function-schedules.md): each
 * run POSTs `input` to the function and is recorded in its invocation history (trigger timer).
 */
export interface FunctionSchedule {
  /** Name of the schedule, unique in the function (a DNS label). */
  readonly name: string;
  /** 5 cron fields or a macro such as `@daily`, as a CronJob's `schedule`. */
  readonly cron: string;
  /** IANA time zone the cron fields are read in. @default "UTC" */
  readonly timeZone?: string;
  /** JSON value sent as the request body of every run. @default {} */
  readonly input?: JsonValue;
  /**
   * `Allow` (runs may overlap) or `Forbid` (a run due while the previous one still runs is
   * skipped and recorded so). `Replace` is refused with an error: a call in flight cannot be
   * stopped (the word is accepted by the type so that the error says why, as for YAML).
   * @default "Forbid"
   */
  readonly concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  /** No new runs while true. @default false */
  readonly suspend?: boolean;
  /**
   * How late a run missed while no API replica led may still start; a later one, and every
   * earlier missed one, is recorded as missed.
   * @default 300
   */
  readonly startingDeadlineSeconds?: number;
}

/**
 * A NATS JetStream subscription of a Function (docs/event-triggers.md): each message invokes
 * the function as a CloudEvent. Run by the API for the definitions it applies; not part of the
 * manifests.
 */
export interface NatsTrigger {
  /** Subject the consumer filters on; `*` and (last) `>` are wildcards. */
  readonly subject: string;
  /** JetStream stream holding the messages. */
  readonly stream: string;
  /** Durable pull consumer every API replica pulls from; a re-apply resumes it. */
  readonly durable: string;
  /** Attempts per message before it is dead-lettered (1 to 100). @default 5 */
  readonly maxDeliver?: number;
  /** Seconds before the 1st, 2nd, … redelivery; the last repeats. @default [1, 10, 60] */
  readonly backoffSeconds?: readonly number[];
  /** Where a message goes after its last failed attempt. @default "hks.dead-letter.<stream>.<durable>" */
  readonly deadLetterSubject?: string;
}

/** A message broker subscription that invokes a Function. */
export interface FunctionTrigger {
  readonly nats: NatsTrigger;
}

/** Annotation of a Function's Knative Service holding its schedules as JSON (what the API runs). */
export const SCHEDULES_ANNOTATION = 'hks.hexabase.io/schedules';

/** Who can call a Function. */
export type FunctionVisibility = 'public' | 'cluster-local';

/** Props of a {@link FunctionService}. */
export interface FunctionServiceProps {
  /**
   * Name of the Knative Service, its ServiceAccount and the pods' `app` label.
   * @default - the construct id
   */
  readonly name?: string;
  /** `python3.12` or `nodejs20` (source run by the platform's bootstrap), or `image`. */
  readonly runtime: FunctionRuntimeName;
  /**
   * `module.function` (python) or `file.export` (node). Source runtimes only.
   * @default "main.handler" (python3.12), "index.handler" (nodejs20)
   */
  readonly handler?: string;
  /**
   * Inline source, written to the handler's module (`main.py`, `index.js`). Exactly one of
   * `code` and `files` for source runtimes.
   * @default - none
   */
  readonly code?: string;
  /**
   * Source files by relative path (`lib/util.py`), UTF-8 text, at most
   * {@link MAX_FUNCTION_SOURCE_BYTES} in all.
   * @default - none
   */
  readonly files?: Readonly<Record<string, string>>;
  /**
   * Image of an HTTP server listening on `$PORT` (runtime `image` only). It must run as a
   * non-root user.
   * @default - none
   */
  readonly image?: string;
  /** Plain environment variables. @default - none */
  readonly env?: Readonly<Record<string, string | number | boolean>>;
  /** Environment variables read from Secret keys. @default - none */
  readonly secretEnv?: Readonly<Record<string, SecretKeyReference>>;
  /** Time limit of one request, in seconds (at most 600). @default 30 */
  readonly timeoutSeconds?: number;
  /** Autoscaling. @default - 0 to 10 pods, target 100 concurrent requests per pod */
  readonly scaling?: FunctionScaling;
  /** Requests and limits. @default - 100m CPU and 128Mi memory requested, memory limited to the request */
  readonly resources?: ResourceRequirements;
  /** `public` (through the ingress) or `cluster-local`. @default "public" */
  readonly visibility?: FunctionVisibility;
  /**
   * Runs of the function on cron schedules, made by the API's scheduler.
   * @default - none
   */
  readonly schedules?: readonly FunctionSchedule[];
  /**
   * Message broker subscriptions that invoke the function, run by the API that applies the
   * definition (validated here, not synthesized).
   * @default - none
   */
  readonly triggers?: readonly FunctionTrigger[];
  /** Labels copied to every object and pod. @default - the platform's labels only */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Images that run source runtimes, e.g. a private registry mirror.
   * @default - {@link DEFAULT_RUNTIME_IMAGES}: python:3.12-slim and node:20-slim
   */
  readonly runtimeImages?: Readonly<Partial<Record<SourceRuntimeName, string>>>;
}

/** The defaults of a Function, in one place (docs/definitions.md, "Defaults"). */
export const FUNCTION_DEFAULTS = {
  timeoutSeconds: 30,
  minScale: 0,
  maxScale: 10,
  target: 100,
  containerConcurrency: 0,
  visibility: 'public',
} as const;

/**
 * The user (and group) that source runtimes run as: the stock language images run as root,
 * which Pod Security `restricted` refuses.
 */
export const FUNCTION_RUN_AS_USER = 65532;

/** Port the container listens on; Knative passes it as `$PORT`. */
const CONTAINER_PORT = 8080;

/** Annotation on the pod template holding the hash of the source and bootstrap. */
export const SOURCE_HASH_ANNOTATION = 'hks.hexabase.io/source-hash';

/**
 * Annotations of a source ConfigMap for GitOps tools: Flux's kustomize-controller never prunes
 * it (its documented opt-out), so a revision that still routes keeps its code after `dist/` has
 * moved on; the API gives the ConfigMap an owner reference to each Revision that mounts it and
 * Kubernetes' garbage collector deletes it with the last of them. Argo CD needs no annotation:
 * it never prunes an object that has owner references.
 */
export const SOURCE_CONFIG_MAP_ANNOTATIONS: Readonly<Record<string, string>> = {
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
};

/**
 * A Function: a Knative Service (`serving.knative.dev/v1`) that runs source code on a stock
 * language image with the platform's bootstrap, or a prebuilt image. Source functions get a
 * ConfigMap (source and bootstrap) named after the content hash, so a change of source rolls
 * a new revision while older revisions keep their own code (the ConfigMap lives as long as a
 * Revision mounts it: see {@link SOURCE_CONFIG_MAP_ANNOTATIONS}). Pods pass Pod Security
 * `restricted` and run under a ServiceAccount of their own that mounts no token.
 */
export class FunctionService extends Construct {
  /** The function name. */
  public readonly name: string;
  /** The project the function belongs to. */
  public readonly project: string;
  /** The Knative Service. */
  public readonly service: serving.Service;
  /** The ConfigMap with the source and bootstrap (source runtimes only). */
  public readonly configMap?: k8s.KubeConfigMap;
  /** The ServiceAccount the pods run as. */
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** Hash of the source and bootstrap (source runtimes only). */
  public readonly sourceHash?: string;

  constructor(scope: Construct, id: string, props: FunctionServiceProps) {
    super(scope, id);
    const chart = ProjectChart.find(this);
    this.name = props.name ?? id;
    this.project = chart.project;
    const { name: _name, labels: userLabels, runtimeImages = {}, ...spec } = props;
    checkProps('Function', this.name, this.project, userLabels, spec);
    const imageProblems = Object.entries(runtimeImages)
      .map(([runtime, image]) => [runtime, checkImage(image ?? '')])
      .filter(([, problem]) => problem)
      .map(([runtime, problem]) => `  runtimeImages.${runtime}: ${problem}`);
    if (imageProblems.length > 0) {
      throw new Error(
        `Function ${JSON.stringify(this.name)} in project ${JSON.stringify(this.project)} is invalid:\n${imageProblems.join('\n')}`,
      );
    }

    const labels = applicationLabels(this.project, this.name, 'Function', userLabels);
    const visibility = props.visibility ?? FUNCTION_DEFAULTS.visibility;
    const scaling = props.scaling ?? {};
    const timeoutSeconds = props.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds;

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels },
      automountServiceAccountToken: false,
    });

    let container: serving.ServiceSpecTemplateSpecContainers;
    let volumes: serving.ServiceSpecTemplateSpecVolumes[] = [];
    const annotations: Record<string, string> = {
      'autoscaling.knative.dev/min-scale': String(scaling.minScale ?? FUNCTION_DEFAULTS.minScale),
      'autoscaling.knative.dev/max-scale': String(scaling.maxScale ?? FUNCTION_DEFAULTS.maxScale),
      'autoscaling.knative.dev/target': String(scaling.target ?? FUNCTION_DEFAULTS.target),
    };
    const env = environment(props);
    const base = {
      name: 'function',
      ports: [{ name: 'http1', containerPort: CONTAINER_PORT, protocol: 'TCP' }],
      resources: resources(props.resources ?? {}),
      // Knative probes the serving port when none is given.
      readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 2 },
      livenessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 10, failureThreshold: 3 },
    };
    if (isSourceRuntime(props.runtime)) {
      const runtime = sourceRuntime(props.runtime);
      const handler = props.handler ?? DEFAULT_HANDLERS[props.runtime];
      const files = props.files ?? { [handlerFiles(props.runtime, handler)[0]]: props.code ?? '' };
      this.sourceHash = contentHash(props.runtime, handler, files, runtime);
      const data = configMapData(files, runtime);
      this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
        metadata: {
          name: `${this.name}-${this.sourceHash}`,
          labels,
          annotations: { ...SOURCE_CONFIG_MAP_ANNOTATIONS },
        },
        immutable: true,
        data: Object.fromEntries(data.map(({ key, content }) => [key, content])),
      });
      annotations[SOURCE_HASH_ANNOTATION] = this.sourceHash;
      const items = (mount: 'function' | 'runtime') =>
        data.filter((d) => d.mount === mount).map(({ key, path }) => ({ key, path }));
      volumes = [
        {
          name: 'function',
          configMap: { name: this.configMap.name, items: items('function'), defaultMode: 0o444 },
        },
        {
          name: 'runtime',
          configMap: { name: this.configMap.name, items: items('runtime'), defaultMode: 0o444 },
        },
        { name: 'tmp', emptyDir: {} },
      ];
      container = {
        ...base,
        image: runtimeImages[props.runtime] ?? DEFAULT_RUNTIME_IMAGES[props.runtime],
        imagePullPolicy: 'IfNotPresent',
        command: [...runtime.command],
        env: [
          ...Object.entries({
            HKS_FUNCTION_DIR: FUNCTION_DIR,
            HKS_HANDLER: handler,
            HKS_FUNCTION_NAME: this.name,
            HKS_TIMEOUT_SECONDS: String(timeoutSeconds),
            ...runtime.env,
          }).map(([name, value]) => ({ name, value })),
          ...env,
        ],
        securityContext: securityContext(FUNCTION_RUN_AS_USER),
        volumeMounts: [
          { name: 'function', mountPath: FUNCTION_DIR, readOnly: true },
          { name: 'runtime', mountPath: RUNTIME_DIR, readOnly: true },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      };
    } else {
      volumes = [{ name: 'tmp', emptyDir: {} }];
      container = {
        ...base,
        image: props.image as string,
        env: env.length > 0 ? env : undefined,
        securityContext: securityContext(undefined),
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      };
    }

    // On the Service, not its template: a schedule's change rolls no new revision.
    const schedules =
      props.schedules && props.schedules.length > 0
        ? { [SCHEDULES_ANNOTATION]: JSON.stringify(props.schedules) }
        : undefined;
    this.service = new serving.Service(this, 'Service', {
      metadata: {
        name: this.name,
        annotations: schedules,
        labels:
          visibility === 'cluster-local'
            ? { ...labels, 'networking.knative.dev/visibility': 'cluster-local' }
            : labels,
      },
      spec: {
        template: {
          metadata: { labels, annotations },
          spec: {
            serviceAccountName: this.serviceAccount.name,
            automountServiceAccountToken: false,
            containerConcurrency:
              scaling.containerConcurrency ?? FUNCTION_DEFAULTS.containerConcurrency,
            timeoutSeconds,
            containers: [container],
            volumes,
          },
        },
      },
    });
  }
}

/** One ConfigMap key: a source file or the bootstrap, and where it is mounted. */
interface ConfigMapEntry {
  readonly key: string;
  readonly path: string;
  readonly content: string;
  readonly mount: 'function' | 'runtime';
}

/**
 * ConfigMap keys cannot hold `/`: source files are keyed `src.<path with / as __>` and mapped
 * back to their paths by the volume's items; the bootstrap is keyed `hks-<file>`.
 */
function configMapData(
  files: Readonly<Record<string, string>>,
  runtime: SourceRuntime,
): ConfigMapEntry[] {
  const entries: ConfigMapEntry[] = Object.keys(files)
    .sort()
    .map((path) => ({
      key: `src.${path.split('/').join('__')}`,
      path,
      content: files[path],
      mount: 'function',
    }));
  entries.push({
    key: `hks-${runtime.bootstrapFile}`,
    path: runtime.bootstrapFile,
    content: runtime.bootstrap,
    mount: 'runtime',
  });
  return entries;
}

/** 10 hex characters of SHA-256 over everything the pods run. */
function contentHash(
  runtime: SourceRuntimeName,
  handler: string,
  files: Readonly<Record<string, string>>,
  bootstrap: SourceRuntime,
): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([runtime, handler, bootstrap.bootstrap]));
  for (const path of Object.keys(files).sort()) hash.update(JSON.stringify([path, files[path]]));
  return hash.digest('hex').slice(0, 10);
}

function environment(props: FunctionServiceProps): serving.ServiceSpecTemplateSpecContainersEnv[] {
  return [
    ...Object.entries(props.env ?? {}).map(([name, value]) => ({ name, value: String(value) })),
    ...Object.entries(props.secretEnv ?? {}).map(([name, ref]) => ({
      name,
      valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } },
    })),
  ];
}

/**
 * {@link RESTRICTED_SECURITY_CONTEXT}, at container level only: Knative refuses most pod-level
 * fields (and `privileged`, false by default, is not among those it allows).
 */
function securityContext(
  runAsUser: number | undefined,
): serving.ServiceSpecTemplateSpecContainersSecurityContext {
  const {
    privileged: _notAllowedByKnative,
    capabilities,
    seccompProfile,
    ...restricted
  } = RESTRICTED_SECURITY_CONTEXT;
  return {
    runAsNonRoot: restricted.runAsNonRoot,
    runAsUser,
    runAsGroup: runAsUser,
    readOnlyRootFilesystem: restricted.readOnlyRootFilesystem,
    allowPrivilegeEscalation: restricted.allowPrivilegeEscalation,
    capabilities: { drop: [...capabilities.drop] },
    seccompProfile: { type: seccompProfile.type },
  };
}

function resources(
  given: ResourceRequirements,
): serving.ServiceSpecTemplateSpecContainersResources {
  const { requests, limits } = containerQuantities(given);
  const { Requests, Limits } = {
    Requests: serving.ServiceSpecTemplateSpecContainersResourcesRequests,
    Limits: serving.ServiceSpecTemplateSpecContainersResourcesLimits,
  };
  return {
    requests: {
      cpu: Requests.fromString(requests.cpu),
      memory: Requests.fromString(requests.memory),
    },
    limits: {
      ...(limits.cpu === undefined ? {} : { cpu: Limits.fromString(limits.cpu) }),
      memory: Limits.fromString(limits.memory),
    },
  };
}
