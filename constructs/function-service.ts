import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as serving from '../knative/imports/serving.knative.dev';
import { checkProps } from './check-props';
import { checkImage } from './field-rules';
import {
  DEFAULT_HANDLERS,
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
import { FUNCTION_SCALING_DEFAULTS, FUNCTION_SPEC_DEFAULTS } from './generated/definition-defaults';
import type { ApplicationLabelsProps, FunctionSpecProps } from './generated/definition-props';
import { applicationLabels } from './labels';
import { ProjectChart } from './project-chart';
import {
  containerQuantities,
  type ResourceRequirements,
  RESTRICTED_SECURITY_CONTEXT,
} from './restricted-container';

export type {
  FunctionScaling,
  FunctionSchedule,
  FunctionTrigger,
  NatsTrigger,
} from './generated/definition-props';

/** Annotation of a Function's Knative Service holding its schedules as JSON (what the API runs). */
export const SCHEDULES_ANNOTATION = 'hks.hexabase.io/schedules';

/** Who can call a Function. */
export type FunctionVisibility = NonNullable<FunctionSpecProps['visibility']>;

/**
 * Props of a {@link FunctionService}: the fields of a Function's spec (declared with their
 * defaults in the definition schema) but `source`, a path the YAML loader reads into `files`.
 */
export interface FunctionServiceProps
  extends Omit<FunctionSpecProps, 'source'>, ApplicationLabelsProps {
  /**
   * Name of the Knative Service, its ServiceAccount and the pods' `app` label.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Images that run source runtimes, e.g. a private registry mirror.
   * @default - {@link DEFAULT_RUNTIME_IMAGES}: python:3.12-slim and node:20-slim
   */
  readonly runtimeImages?: Readonly<Partial<Record<SourceRuntimeName, string>>>;
}

export {
  FUNCTION_SCALING_DEFAULTS,
  FUNCTION_SCHEDULE_DEFAULTS,
  FUNCTION_SPEC_DEFAULTS,
  NATS_TRIGGER_DEFAULTS,
} from './generated/definition-defaults';

/** The defaults of a Function and of its scaling, as one object. */
export const FUNCTION_DEFAULTS = {
  ...FUNCTION_SPEC_DEFAULTS,
  ...FUNCTION_SCALING_DEFAULTS,
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
