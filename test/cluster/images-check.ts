import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonSmokeTest } from './image-recipes';
import { type BuiltImage, buildTestImages, ctr, ctrBinary, importImages } from './images';
import { formatSeconds, stderrLog } from './log';
import { removeTree } from './mounts';
import { logTail } from './processes';

/**
 * `npx tsx test/cluster/images-check.ts`: builds (or reuses) the test images, imports
 * them into a throw-away containerd of its own (everything under one temporary folder,
 * no CRI) and runs each: a command as uid 65534 (`ctr tasks exec --user 65534` in a
 * container of the image, as ctr 1.6's `run` has no `--user`), the python and node
 * images with a read-only root file system; pause until `ctr tasks kill`. Stops that
 * containerd and unmounts and removes the folder at the end. Exits 1 when a check fails.
 * Needs root, containerd and runc (Debian packages containerd, runc).
 */

const log = stderrLog;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A containerd of this script's own. */
interface Containerd {
  readonly dir: string;
  readonly address: string;
  readonly process: ChildProcess;
  readonly logFile: string;
}

async function startContainerd(): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'hks-images-check-'));
  const address = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dir}/opt"`,
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'containerd.log');
  const out = openSync(logFile, 'a');
  const child = spawn(process.env.HKS_CONTAINERD ?? 'containerd', ['--config', config], {
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const containerd = { dir, address, process: child, logFile };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await ctr(address, ['version']);
      return containerd;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stopContainerd(containerd);
        throw new Error(
          `containerd did not start (${(error as Error).message}); its log:\n${logTail(logFile)}`,
        );
      }
      await sleep(200);
    }
  }
}

/** Stops our containerd (SIGTERM, SIGKILL after 10 s), then unmounts and removes its folder. */
async function stopContainerd(containerd: Containerd): Promise<void> {
  const child = containerd.process;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
  removeTree(containerd.dir);
}

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function collect(child: ChildProcess, limitMs: number): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise<RunResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      resolvePromise({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  }).finally(() => clearTimeout(killer));
}

/** `ctr` with our address and namespace; runc's and the FIFOs' state stay in our folder. */
function ctrArgs(containerd: Containerd, command: 'run' | 'exec', args: readonly string[]) {
  const state = [
    ...(command === 'run' ? ['--runc-root', join(containerd.dir, 'runc')] : []),
    '--fifo-dir',
    join(containerd.dir, 'fifo'),
  ];
  return [
    '--address',
    containerd.address,
    '--namespace',
    'k8s.io',
    ...(command === 'run' ? ['run'] : ['tasks', 'exec']),
    ...state,
    ...args,
  ];
}

/**
 * Starts a container of `image` whose main process is the image's own `sleep` (as root,
 * detached), for {@link execAsNobody}. ctr 1.6's `run` has no `--user`; `tasks exec` has.
 */
async function startHolder(
  containerd: Containerd,
  image: string,
  id: string,
  options: readonly string[] = [],
): Promise<void> {
  const args = ctrArgs(containerd, 'run', [
    '--detach',
    '--null-io',
    ...options,
    image,
    id,
    'sleep',
    '600',
  ]);
  const result = await collect(
    spawn(ctrBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] }),
    60_000,
  );
  expect(result.code === 0, `ctr run ${image}: ${show(result)}`);
}

/** `ctr tasks exec --user 65534 <id> <command...>` to its end (60 s at most). */
function execAsNobody(
  containerd: Containerd,
  id: string,
  execId: string,
  command: readonly string[],
): Promise<RunResult> {
  const args = ctrArgs(containerd, 'exec', [
    '--exec-id',
    execId,
    '--user',
    '65534',
    id,
    ...command,
  ]);
  return collect(spawn(ctrBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] }), 60_000);
}

/** Removes what a check left of a container (best effort). */
async function removeContainer(containerd: Containerd, id: string): Promise<void> {
  for (const args of [
    ['tasks', 'kill', '--signal', 'SIGKILL', id],
    ['tasks', 'delete', '--force', id],
    ['containers', 'delete', id],
  ]) {
    await ctr(containerd.address, args).catch(() => undefined);
  }
}

/** The `TASK PID STATUS` line of a task in `ctr tasks ls`, or `''`. */
async function taskLine(containerd: Containerd, id: string): Promise<string> {
  const list = await ctr(containerd.address, ['tasks', 'ls']).catch(() => '');
  return list.split('\n').find((line) => line.startsWith(`${id} `)) ?? '';
}

function reference(images: readonly BuiltImage[], prefix: string): string {
  const found = images.find((image) => image.reference.startsWith(prefix));
  if (found === undefined) {
    throw new Error(`buildTestImages returned no ${prefix} image`);
  }
  return found.reference;
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

const show = (result: RunResult): string =>
  `exit ${result.code}, stdout ${JSON.stringify(result.stdout.trim())}, stderr ${JSON.stringify(result.stderr.trim())}`;

/** One check: the container id it uses and what it does; returns what it saw. */
interface Check {
  readonly id: string;
  run(containerd: Containerd, images: readonly BuiltImage[], id: string): Promise<string>;
}

const checks: Record<string, Check> = {
  'busybox: sh -c as uid 65534, its output and exit status 3': {
    id: 'hks-check-busybox',
    async run(containerd, images, id) {
      await startHolder(containerd, reference(images, 'docker.io/library/busybox'), id);
      const result = await execAsNobody(containerd, id, 'sh', [
        'sh',
        '-c',
        'echo hi; id -u; ls /bin | wc -l; exit 3',
      ]);
      const [hi, uid, applets] = result.stdout.trim().split('\n');
      expect(result.code === 3 && hi === 'hi' && uid === '65534', show(result));
      return `exit 3, printed "hi", uid 65534, ${applets.trim()} entries in /bin`;
    },
  },
  'python: Python 3.12 as uid 65534 on a read-only root file system': {
    id: 'hks-check-python',
    async run(containerd, images, id) {
      await startHolder(containerd, reference(images, 'docker.io/library/python'), id, [
        '--read-only',
      ]);
      const smoke = await execAsNobody(containerd, id, 'smoke', ['python3', '-c', pythonSmokeTest]);
      expect(smoke.code === 0 && smoke.stdout.startsWith('3.12.'), show(smoke));
      const alias = await execAsNobody(containerd, id, 'alias', [
        'python',
        '-c',
        'import os, sys\ntry:\n  open("/written", "w")\nexcept OSError as e:\n  print(os.getuid(), sys.version.split()[0], e.strerror)',
      ]);
      expect(
        alias.code === 0 && /^65534 3\.12\.\d+ Read-only file system$/.test(alias.stdout.trim()),
        show(alias),
      );
      return `${smoke.stdout.trim()}; python: ${alias.stdout.trim()}`;
    },
  },
  'node: node -v ≥ v20 as uid 65534 on a read-only root file system': {
    id: 'hks-check-node',
    async run(containerd, images, id) {
      await startHolder(containerd, reference(images, 'docker.io/library/node'), id, [
        '--read-only',
      ]);
      const result = await execAsNobody(containerd, id, 'node', [
        'node',
        '-e',
        'console.log(process.version, process.getuid()); require("node:http").createServer().listen(0, function () { this.close(); console.log("listened"); })',
      ]);
      const [versionAndUid, listened] = result.stdout.trim().split('\n');
      const [version, uid] = (versionAndUid ?? '').split(' ');
      const major = Number(/^v(\d+)\./.exec(version ?? '')?.[1]);
      expect(
        result.code === 0 && major >= 20 && uid === '65534' && listened === 'listened',
        show(result),
      );
      return `${version}, uid ${uid}, an HTTP server listened`;
    },
  },
  'pause: runs as the image user 65535 until SIGTERM (ctr tasks kill), then exits 0': {
    id: 'hks-check-pause',
    async run(containerd, images, id) {
      const child = spawn(
        ctrBinary(),
        ctrArgs(containerd, 'run', ['--rm', reference(images, 'registry.k8s.io/pause'), id]),
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const ended = collect(child, 60_000);
      const deadline = Date.now() + 30_000;
      let line = '';
      while (!/\bRUNNING\b/.test(line)) {
        if (child.exitCode !== null) {
          throw new Error(`pause ended before it was killed: ${show(await ended)}`);
        }
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`pause not RUNNING after 30 s: "${line}"; ctr run: ${show(await ended)}`);
        }
        await sleep(100);
        line = await taskLine(containerd, id);
      }
      const pid = Number(line.split(/\s+/)[1]);
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      await sleep(500);
      if (child.exitCode !== null) {
        throw new Error(`pause ended by itself: ${show(await ended)}`);
      }
      const killed = Date.now();
      await ctr(containerd.address, ['tasks', 'kill', '--signal', 'SIGTERM', id]);
      const result = await ended;
      expect(result.code === 0, `pause after SIGTERM: ${show(result)}`);
      return `RUNNING as uid ${uid}, exited 0 ${formatSeconds(Date.now() - killed)} after SIGTERM`;
    },
  },
};

async function main(): Promise<void> {
  const started = Date.now();
  const images = await buildTestImages(log);
  log(`buildTestImages returned in ${formatSeconds(Date.now() - started)}`);
  const containerd = await startContainerd();
  log(`started containerd in ${containerd.dir}`);
  let failed = 0;
  try {
    await importImages(containerd.address, images, log);
    for (const [name, check] of Object.entries(checks)) {
      try {
        log(`ok   ${name}: ${await check.run(containerd, images, check.id)}`);
      } catch (error) {
        failed += 1;
        log(`FAIL ${name}: ${(error as Error).message}`);
      } finally {
        await removeContainer(containerd, check.id);
      }
    }
  } finally {
    await stopContainerd(containerd);
    log(`stopped containerd, unmounted and removed ${containerd.dir}`);
  }
  const total = Object.keys(checks).length;
  log(`${total - failed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
