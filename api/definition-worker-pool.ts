import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DefinitionJob, DefinitionJobResults, runDefinitionJob } from './definition-worker-jobs';
import { fromWireError, WorkerReply } from './definition-worker-wire';
import { FairSlots } from './fair-slots';
import { Problem } from './problem';

/** Size and bounds of the definition workers. */
export interface DefinitionWorkOptions {
  /** Worker threads; 0 runs every job on the calling thread (the request loop). @default 2 */
  readonly workers?: number;
  /** Time one job may take on a worker, in milliseconds; the worker is then replaced. @default 10000 */
  readonly timeoutMs?: number;
  /** Jobs of one project running or waiting at once; more are refused with a 429. @default 8 */
  readonly perProjectJobs?: number;
  /** Heap of one worker (V8 old generation), in MiB; past it the job fails and the worker is replaced. @default 512 */
  readonly heapMb?: number;
}

/** Runs definition jobs for projects. */
export interface DefinitionRunner {
  run<J extends DefinitionJob>(project: string, job: J): Promise<DefinitionJobResults[J['kind']]>;
  /** Stops the workers. */
  close(): Promise<void>;
}

/** How long a worker may take to load its modules (tsx compiles them first on a cold start). */
const STARTUP_MS = 60_000;

/** Runs jobs on the calling thread: what the API did before the workers. */
export const inlineDefinitionRunner: DefinitionRunner = {
  run: async (_project, job) => runDefinitionJob(job),
  close: async () => undefined,
};

/** The code a worker starts with: under tsx (or jest) the entry is TypeScript, loaded by tsx. */
function workerCode(): string {
  const extension = extname(__filename);
  const entry = JSON.stringify(join(__dirname, `definition-worker${extension}`));
  if (extension !== '.ts') return `require(${entry});`;
  // Workers do not inherit the module hooks `--import tsx` registers in the main thread (Node
  // 20): register tsx's CommonJS hooks in the worker itself.
  return `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();\nrequire(${entry});`;
}

/** One worker thread, running one job at a time. */
class DefinitionThread {
  private readonly worker: Worker;
  private readonly started: Promise<void>;
  private current?: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };
  private gone?: Error;

  constructor(private readonly heapMb: number) {
    this.worker = new Worker(workerCode(), {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
      stdout: false,
      stderr: false,
    });
    // An idle worker keeps no process alive; a busy one does (see run).
    this.worker.unref();
    let ready: () => void;
    this.started = new Promise((resolve) => (ready = resolve));
    this.worker.on('message', (reply: WorkerReply | 'ready') =>
      reply === 'ready' ? ready() : this.current?.resolve(reply),
    );
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`definition worker exited with ${code}`)));
  }

  /** Whether it can take another job. */
  public get usable(): boolean {
    return this.gone === undefined;
  }

  /** Runs `job`; past `timeoutMs` (counted once the worker is up) the worker is terminated. */
  public async run(job: DefinitionJob, timeoutMs: number): Promise<WorkerReply> {
    this.worker.ref();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<WorkerReply>((resolve, reject) => {
        if (this.gone) return reject(this.gone);
        this.current = { resolve, reject };
        timer = setTimeout(
          () => reject(new Error(`definition worker did not start within ${STARTUP_MS} ms`)),
          STARTUP_MS,
        );
        void this.started.then(() => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            reject(tooSlow(timeoutMs));
            void this.terminate();
          }, timeoutMs);
          this.worker.postMessage(job);
        });
      });
    } finally {
      clearTimeout(timer);
      this.current = undefined;
      this.worker.unref();
    }
  }

  public async terminate(): Promise<void> {
    this.gone ??= new Error('definition worker stopped');
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    if ((error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY')
      error = new Problem(
        503,
        'Definition too large to check',
        `Checking and synthesizing the definition needed more than ${this.heapMb} MiB, the memory of one definition worker; expected a smaller definition`,
      );
    this.gone ??= error;
    this.current?.reject(error);
  }
}

function tooSlow(timeoutMs: number): Problem {
  return new Problem(
    503,
    'Definition too slow to check',
    `Checking and synthesizing the definition took longer than ${timeoutMs} ms, the time limit of one definition; expected a smaller definition`,
  );
}

/**
 * A few worker threads that check and synthesize definitions, so that one tenant's big
 * definition does not hold the request loop the other tenants' requests run on. Waiting
 * projects take turns and one project holds at most all but one worker; a project's jobs
 * beyond `perProjectJobs` are refused. Only plain JSON crosses to a worker (the store stays on
 * the main thread). Workers start on first use and stay; one that fails or passes its time
 * limit is replaced by the next job.
 */
export class DefinitionWorkerPool implements DefinitionRunner {
  private readonly slots: FairSlots;
  private readonly idle: DefinitionThread[] = [];
  private readonly jobsOf = new Map<string, number>();
  private readonly timeoutMs: number;
  private readonly perProjectJobs: number;
  private readonly heapMb: number;

  constructor(options: DefinitionWorkOptions = {}) {
    const workers = options.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 1)
      throw new Error(`workers: given ${workers}, expected an integer of at least 1`);
    this.slots = new FairSlots(workers, Math.max(workers - 1, 1));
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.perProjectJobs = options.perProjectJobs ?? 8;
    this.heapMb = options.heapMb ?? 512;
  }

  public async run<J extends DefinitionJob>(
    project: string,
    job: J,
  ): Promise<DefinitionJobResults[J['kind']]> {
    const jobs = this.jobsOf.get(project) ?? 0;
    if (jobs >= this.perProjectJobs)
      throw new Problem(
        429,
        'Too many definitions at once',
        `Project ${JSON.stringify(project)} has ${jobs} definitions being checked or waiting; expected at most ${this.perProjectJobs} at once`,
        [],
        { 'retry-after': '1' },
      );
    this.jobsOf.set(project, jobs + 1);
    try {
      const reply = await this.slots.run(project, () => this.onThread(job));
      if (!reply.ok) throw fromWireError(reply.error);
      return reply.result as DefinitionJobResults[J['kind']];
    } finally {
      const left = (this.jobsOf.get(project) ?? 1) - 1;
      if (left > 0) this.jobsOf.set(project, left);
      else this.jobsOf.delete(project);
    }
  }

  public async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((t) => t.terminate()));
  }

  /** Runs `job` on an idle thread (a new one when none is): the slots bound how many run. */
  private async onThread(job: DefinitionJob): Promise<WorkerReply> {
    const thread = this.idle.pop() ?? new DefinitionThread(this.heapMb);
    try {
      return await thread.run(job, this.timeoutMs);
    } finally {
      if (thread.usable) this.idle.push(thread);
      else void thread.terminate();
    }
  }
}

/** The pool of `workers` threads, or the calling thread when `workers` is 0. */
export function definitionRunner(options: DefinitionWorkOptions = {}): DefinitionRunner {
  return options.workers === 0 ? inlineDefinitionRunner : new DefinitionWorkerPool(options);
}
