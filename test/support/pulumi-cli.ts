/**
 * Running a Pulumi program for real in a test: the toolchain's CLI through `npm run pulumi`
 * (tools/pulumi), a file backend and the stack's settings file in the test's own folder, the
 * engine's JSON read back, and the Kubernetes objects of a stack's state checked in the cluster.
 * Shared by test/pulumi-up.int.test.ts (the project's own Pulumi.yaml) and
 * test/pulumi-component.int.test.ts (the example program under examples/).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../tools/pulumi/config';
import type { KubectlResult } from '../cluster/kubectl';

/** A cold toolchain build takes 15–25 min on two cores (see pulumi-toolchain.int.test.ts). */
export const TOOLCHAIN_BUILD_TIMEOUT_MS = 60 * 60_000;

/** Exit code and output of a command. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in `cwd`; `echo` copies its stderr to the test's (progress of long builds). */
export function run(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly echo?: boolean },
): Promise<Run> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (options.echo) process.stderr.write(chunk);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The run, or an error with its exit code and the ends of its output. */
export function expectOk(result: Run, what: string): Run {
  if (result.code !== 0) {
    throw new Error(
      `${what}: exit ${result.code}\nstdout:\n${result.stdout.slice(-20_000)}\nstderr:\n${result.stderr.slice(-5_000)}`,
    );
  }
  return result;
}

/** The JSON document in a `--json` output (npm may print nothing before it; pulumi may). */
export function json<T>(stdout: string): T {
  return JSON.parse(stdout.slice(stdout.indexOf('{'))) as T;
}

/** The top-level JSON objects of an output that holds several, one after the other. */
export function jsonDocuments<T>(stdout: string): T[] {
  const documents: T[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"' && depth > 0) inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && depth > 0 && --depth === 0) {
      documents.push(JSON.parse(stdout.slice(start, i + 1)) as T);
    }
  }
  return documents;
}

/** Milliseconds per phase, filled by {@link timed}. */
export type Timings = Record<string, number>;

/** Runs `body` and records how long it took under `phase`, failed or not. */
export async function timed<T>(
  timings: Timings,
  phase: string,
  body: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  try {
    return await body();
  } finally {
    timings[phase] = Date.now() - started;
  }
}

/** Builds the Pulumi toolchain if needed (returns at once when cached). */
export async function buildToolchain(): Promise<void> {
  expectOk(
    await run('npm', ['run', 'pulumi:build'], {
      cwd: repoRoot,
      env: { ...process.env, INIT_CWD: repoRoot },
      echo: true,
    }),
    'pulumi:build',
  );
}

/** Commands that read the stack's settings take them from the test's own folder. */
const TAKES_CONFIG_FILE = new Set(['config', 'up', 'preview', 'refresh', 'destroy']);

/** One stack of a Pulumi project, run by the toolchain's CLI. */
export interface PulumiStack {
  readonly name: string;
  /** The stack's settings file, in the test's folder (`--config-file`). */
  readonly configFile: string;
  /** `npm run pulumi -- <args> --stack <stack>` in the project's folder. */
  pulumi(args: readonly string[]): Promise<Run>;
  /** `pulumi stack init`, the settings file it writes beside Pulumi.yaml moved to the test's folder. */
  init(): Promise<void>;
  /** `pulumi config set-all`: the settings as plain text, the secrets encrypted. */
  configure(
    settings: readonly (readonly [string, string])[],
    secrets?: readonly (readonly [string, string])[],
  ): Promise<void>;
}

/**
 * A stack of the project in `projectDir` (the folder of its Pulumi.yaml) on the file backend
 * `<scratch>/state`, with its settings in `<scratch>/Pulumi.<stack>.yaml`, never beside
 * Pulumi.yaml. `env` is the environment of every command: the backend and the passphrase are
 * added to it.
 */
export function pulumiStack(options: {
  readonly projectDir: string;
  readonly stack: string;
  readonly scratch: string;
  readonly env: NodeJS.ProcessEnv;
}): PulumiStack {
  const { projectDir, stack, scratch } = options;
  const state = join(scratch, 'state');
  mkdirSync(state, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: `passphrase-of-${stack}`,
  };
  const configFile = join(scratch, `Pulumi.${stack}.yaml`);
  // npm runs pulumi where it was called (INIT_CWD): the project's folder
  const npmPulumi = (args: readonly string[]): Promise<Run> =>
    run('npm', ['--prefix', repoRoot, 'run', '-s', 'pulumi', '--', ...args], {
      cwd: projectDir,
      env,
    });
  const pulumi = (args: readonly string[]): Promise<Run> =>
    npmPulumi([
      ...args,
      '--stack',
      stack,
      ...(TAKES_CONFIG_FILE.has(args[0]) ? ['--config-file', configFile] : []),
    ]);
  return {
    name: stack,
    configFile,
    pulumi,
    async init() {
      expectOk(await npmPulumi(['stack', 'init', stack, '--non-interactive']), 'stack init');
      // stack init (no --config-file) writes the passphrase's salt beside Pulumi.yaml
      const initFile = join(projectDir, `Pulumi.${stack}.yaml`);
      if (existsSync(initFile)) renameSync(initFile, configFile);
    },
    async configure(settings, secrets = []) {
      // one command for all (each npm run pulumi costs 2-3 s)
      const pairs = (flag: string, entries: readonly (readonly [string, string])[]) =>
        entries.flatMap(([key, value]) => [flag, `${key}=${value}`]);
      expectOk(
        await pulumi([
          'config',
          'set-all',
          ...pairs('--plaintext', settings),
          ...pairs('--secret', secrets),
        ]),
        `config set-all ${settings.map(([key]) => key).join(' ')}`,
      );
    },
  };
}

/** The engine's summary of an `up --json`: the change counts of its last summary event. */
export function upChanges(stdout: string): Record<string, number> | undefined {
  // `up --json` writes the engine's events, one JSON document each; the last summary counts
  return jsonDocuments<{ summaryEvent?: { resourceChanges?: Record<string, number> } }>(stdout)
    .filter((event) => event.summaryEvent !== undefined)
    .pop()?.summaryEvent?.resourceChanges;
}

/** A resource of `pulumi stack export`. */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly parent?: string;
  readonly provider?: string;
  readonly outputs?: Record<string, unknown>;
}

/** The resources of the stack's state (`pulumi stack export`). */
export async function stateResources(stack: PulumiStack): Promise<StateResource[]> {
  const exported = json<{ deployment: { resources?: StateResource[] } }>(
    expectOk(await stack.pulumi(['stack', 'export']), 'stack export').stdout,
  );
  return exported.deployment.resources ?? [];
}

/** A Kubernetes object in a stack's state: apiVersion, kind, namespace, name. */
export interface StateObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** The Kubernetes objects among a state's resources (not the providers, not the groups). */
export function stateObjects(resources: readonly StateResource[]): StateObject[] {
  return resources
    .filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:yaml'))
    .filter((r) => r.outputs?.metadata)
    .map((r) => {
      const o = r.outputs as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace?: string };
      };
      return {
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name,
        namespace: o.metadata.namespace,
      };
    });
}

/**
 * The objects still in the cluster, as `<kind> <namespace>/<name>`: waits for the namespaces
 * among them to be gone (their objects go with them), then lists each kind once.
 */
export async function objectsLeft(
  objects: readonly StateObject[],
  kubectl: (args: readonly string[]) => Promise<KubectlResult>,
): Promise<string[]> {
  for (const ns of objects.filter((o) => o.kind === 'Namespace')) {
    await kubectl(['wait', '--for=delete', `namespace/${ns.name}`, '--timeout=120s']);
  }
  const byKind = new Map<string, StateObject[]>();
  for (const o of objects) {
    const key = `${o.kind}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`;
    byKind.set(key, [...(byKind.get(key) ?? []), o]);
  }
  const left: string[] = [];
  for (const [resource, ofKind] of byKind) {
    const got = await kubectl(['get', resource.replace(/\.$/, ''), '-A', '-o', 'json']);
    // a custom resource's type goes with its CRD (itself one of the objects checked)
    if (got.code !== 0 && /doesn't have a resource type/.test(got.stderr)) continue;
    if (got.code !== 0) throw new Error(`kubectl get ${resource}: ${got.stderr}`);
    const items = (
      JSON.parse(got.stdout) as { items: { metadata: { name: string; namespace?: string } }[] }
    ).items;
    for (const o of ofKind) {
      if (items.some((i) => i.metadata.name === o.name && i.metadata.namespace === o.namespace)) {
        left.push(`${o.kind} ${o.namespace ?? ''}/${o.name}`);
      }
    }
  }
  return left;
}
