import { dirname, join, normalize } from 'node:path';
import type { V1EnvVar, V1EnvFromSource } from '@kubernetes/client-node';
import type { RevisionSpec } from './types';

/** Reads ConfigMaps and Secrets of the revision's namespace; undefined when missing. */
export interface ObjectLookup {
  configMap(name: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** The Secret's data, base64-decoded. */
  secret(name: string): Promise<Readonly<Record<string, string>> | undefined>;
}

/** How to run a revision's container as a local process. */
export interface LocalRuntimePlan {
  readonly runnable: true;
  /** The revision's local folder, which holds its files. */
  readonly dir: string;
  /** e.g. `python3` or `node` (the container's `command[0]`). */
  readonly program: string;
  /** The rest of command and args, mount paths rewritten to local folders. */
  readonly args: readonly string[];
  /** The container's environment, mount paths rewritten (no `PORT`). */
  readonly env: Readonly<Record<string, string>>;
  /** Files to write, by absolute local path. */
  readonly files: Readonly<Record<string, string>>;
}

/** Why a revision cannot run here, as a Knative `Ready: False` reason and message. */
export interface NotRunnable {
  readonly runnable: false;
  readonly reason: string;
  readonly message: string;
}

const IMAGE_NOT_SUPPORTED: NotRunnable = {
  runnable: false,
  reason: 'ImageNotSupported',
  message:
    'The Knative stand-in (development and tests only) runs source runtimes (python3.12, nodejs20) from their ConfigMap as local processes; it cannot run container images. Use a cluster with Knative Serving and real nodes for runtime: image.',
};

function isNotRunnable(value: Record<string, string> | NotRunnable): value is NotRunnable {
  return (value as NotRunnable).runnable === false;
}

function configError(message: string): NotRunnable {
  return { runnable: false, reason: 'CreateContainerConfigError', message };
}

/** Replaces a leading mount path with its local folder. */
function rewriter(mounts: readonly { mountPath: string; local: string }[]): (s: string) => string {
  const longestFirst = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  return (value) => {
    for (const { mountPath, local } of longestFirst) {
      const base = mountPath.replace(/\/+$/, '');
      if (value === base) return local;
      if (value.startsWith(`${base}/`)) return join(local, value.slice(base.length + 1));
    }
    return value;
  };
}

async function envValue(
  variable: V1EnvVar,
  lookup: ObjectLookup,
  rewrite: (s: string) => string,
): Promise<string | undefined | NotRunnable> {
  const from = variable.valueFrom;
  if (from === undefined) return rewrite(variable.value ?? '');
  const ref = from.secretKeyRef ?? from.configMapKeyRef;
  if (ref === undefined) {
    const kind = Object.keys(from).join(', ');
    return configError(
      `env ${variable.name}: valueFrom.${kind} is not supported by the Knative stand-in (only secretKeyRef and configMapKeyRef)`,
    );
  }
  const kind = from.secretKeyRef === undefined ? 'configmap' : 'secret';
  const data =
    kind === 'secret'
      ? await lookup.secret(ref.name ?? '')
      : await lookup.configMap(ref.name ?? '');
  const value = data?.[ref.key];
  if (value === undefined && ref.optional !== true) {
    return configError(
      data === undefined
        ? `${kind} "${ref.name}" not found (env ${variable.name})`
        : `couldn't find key ${ref.key} in ${kind} ${ref.name} (env ${variable.name})`,
    );
  }
  return value;
}

async function envFromValues(
  source: V1EnvFromSource,
  lookup: ObjectLookup,
): Promise<Record<string, string> | NotRunnable> {
  const ref = source.secretRef ?? source.configMapRef;
  const kind = source.secretRef === undefined ? 'configmap' : 'secret';
  const data =
    kind === 'secret'
      ? await lookup.secret(ref?.name ?? '')
      : await lookup.configMap(ref?.name ?? '');
  if (data === undefined) {
    return ref?.optional === true ? {} : configError(`${kind} "${ref?.name}" not found (envFrom)`);
  }
  const prefix = source.prefix ?? '';
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [`${prefix}${k}`, v]));
}

/**
 * Works out how to run a revision's first container as a local process: the files of its
 * ConfigMap volumes go under `revisionDir/<volume name>/<item path>`, every mount path in
 * command, args and env values is rewritten to that folder, and `valueFrom` references to
 * Secrets and ConfigMaps are resolved. A container without ConfigMap volumes (an image
 * function) or without a command is not runnable here.
 *
 * @param spec the revision's spec
 * @param revisionDir the revision's local folder
 * @param lookup reads ConfigMaps and Secrets of the namespace
 */
export async function planLocalRuntime(
  spec: RevisionSpec,
  revisionDir: string,
  lookup: ObjectLookup,
): Promise<LocalRuntimePlan | NotRunnable> {
  const container = spec.containers[0];
  const command = container?.command ?? [];
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const configMapMounts = (container?.volumeMounts ?? []).filter(
    (m) => volumes.get(m.name)?.configMap !== undefined,
  );
  if (command.length === 0 || configMapMounts.length === 0) return IMAGE_NOT_SUPPORTED;

  const files: Record<string, string> = {};
  const mounts: { mountPath: string; local: string }[] = [];
  for (const mount of configMapMounts) {
    const source = volumes.get(mount.name)?.configMap;
    const data = await lookup.configMap(source?.name ?? '');
    if (data === undefined) {
      if (source?.optional === true) continue;
      return configError(`configmap "${source?.name}" not found (volume ${mount.name})`);
    }
    const local = join(revisionDir, mount.name);
    const items = source?.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const path = normalize(item.path);
      if (path.startsWith('..') || path.startsWith('/')) {
        return configError(
          `volume ${mount.name}: item path ${JSON.stringify(item.path)} leaves the volume`,
        );
      }
      if (data[item.key] === undefined) {
        return configError(
          `configmap "${source?.name}" has no key ${item.key} (volume ${mount.name})`,
        );
      }
      files[join(local, path)] = data[item.key];
    }
    mounts.push({ mountPath: mount.mountPath, local });
  }
  const rewrite = rewriter(mounts);

  const env: Record<string, string> = {};
  for (const source of container?.envFrom ?? []) {
    const values = await envFromValues(source, lookup);
    if (isNotRunnable(values)) return values;
    Object.assign(env, values);
  }
  for (const variable of container?.env ?? []) {
    const value = await envValue(variable, lookup, rewrite);
    if (typeof value === 'object') return value;
    if (value !== undefined) env[variable.name] = value;
  }
  return {
    runnable: true,
    dir: revisionDir,
    program: command[0],
    args: [...command.slice(1), ...(container?.args ?? [])].map(rewrite),
    env,
    files,
  };
}

/** Folders that must exist before the files of a plan are written. */
export function planFolders(plan: LocalRuntimePlan): string[] {
  return [...new Set(Object.keys(plan.files).map((file) => dirname(file)))];
}
