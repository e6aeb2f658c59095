import { spawn } from 'node:child_process';
import { binaryPath, buildComponent } from './cluster/build';
import { cronNext } from './cluster/components';
import { stderrLog } from './cluster/log';

/** One question for the controller's scheduler: the runs of a schedule after `from`. */
export interface SchedulerRequest {
  readonly schedule: string;
  readonly timeZone: string;
  /** RFC 3339 instant, exclusive. */
  readonly from: string;
  readonly count: number;
}

/** Its answer: the runs as RFC 3339 UTC times (fewer than asked when `Next` gave up), or why not. */
export interface SchedulerAnswer {
  readonly runs?: readonly string[];
  readonly error?: string;
}

/** How long one batch may take: a few thousand schedules take well under a second. */
const BATCH_TIMEOUT_MS = 60_000;

/** Builds cron-next (robfig/cron v3 as kube-controller-manager calls it) unless cached. */
export async function buildControllerScheduler(): Promise<string> {
  await buildComponent(cronNext, stderrLog);
  return binaryPath(cronNext, 'cron-next');
}

/** Asks cron-next, one process for the whole batch; answers in the order of the requests. */
export async function controllerRuns(
  requests: readonly SchedulerRequest[],
): Promise<SchedulerAnswer[]> {
  const binary = await buildControllerScheduler();
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), BATCH_TIMEOUT_MS);
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(requests.map((request) => JSON.stringify(request) + '\n').join(''));
  const code = await exit.finally(() => clearTimeout(timer));
  if (code !== 0) {
    throw new Error(`cron-next exited with ${code}: ${Buffer.concat(stderr).toString()}`);
  }
  const lines = Buffer.concat(stdout).toString().split('\n').filter(Boolean);
  if (lines.length !== requests.length) {
    throw new Error(`cron-next answered ${lines.length} of ${requests.length} requests`);
  }
  return lines.map((line) => JSON.parse(line) as SchedulerAnswer);
}
