/**
 * jest runner of the `integration` project: the suites wait on the cluster far more than they
 * compute, so they run side by side in up to `HKS_TEST_INTEGRATION_WORKERS` worker processes,
 * in three lanes (test/support/suite-groups.ts):
 *
 * - the real-node suites one at a time in a worker of their own,
 * - every other suite in the remaining workers, at the same time as the real-node lane,
 * - then the exclusive suites one at a time with nothing else running.
 *
 * Each lane keeps the order jest's sequencer gave (slowest first), so a run is repeatable.
 * With one worker, `--runInBand` or a single suite everything runs in band as before.
 */
import { relative } from 'node:path';
import type { Config } from '@jest/types';
import type { Test, TestWatcher } from 'jest-runner';
import TestRunner, {
  type TestEvents,
  type TestRunnerContext,
  type TestRunnerOptions,
  type UnsubscribeFn,
} from 'jest-runner';
import { EXCLUSIVE_SUITES, REAL_NODE_SUITES } from './suite-groups';

/** How many worker processes the integration suites use at most. */
export const WORKERS_ENV = 'HKS_TEST_INTEGRATION_WORKERS';

/** @default 3: one for the real-node lane, two for the rest (measured on 2 cores) */
const DEFAULT_WORKERS = 3;

type EventName = keyof TestEvents;
type Listener = (args: unknown) => void | Promise<void>;

const EVENTS: readonly EventName[] = [
  'test-file-start',
  'test-file-success',
  'test-file-failure',
  'test-case-start',
  'test-case-result',
];

/** The worker count from the environment; a clear error for anything but a positive integer. */
export function integrationWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[WORKERS_ENV];
  if (given === undefined || given === '') return DEFAULT_WORKERS;
  const workers = Number(given);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`${WORKERS_ENV}: given ${JSON.stringify(given)}, expected a positive integer`);
  return workers;
}

/** The suites of each lane, in the order given. */
export interface Lanes<T> {
  readonly realNode: T[];
  readonly shared: T[];
  readonly exclusive: T[];
}

/** Splits suites into the lanes by their paths relative to the repository root. */
export function splitLanes<T>(tests: readonly T[], pathOf: (test: T) => string): Lanes<T> {
  const lanes: Lanes<T> = { realNode: [], shared: [], exclusive: [] };
  for (const test of tests) {
    const path = pathOf(test);
    if (REAL_NODE_SUITES.includes(path)) lanes.realNode.push(test);
    else if (EXCLUSIVE_SUITES.includes(path)) lanes.exclusive.push(test);
    else lanes.shared.push(test);
  }
  return lanes;
}

export default class IntegrationRunner {
  readonly isSerial = false;
  readonly supportsEventEmitters = true;
  private readonly listeners = new Map<EventName, Set<Listener>>();

  constructor(
    private readonly globalConfig: Config.GlobalConfig,
    private readonly context: TestRunnerContext,
  ) {}

  on<Name extends EventName>(
    eventName: Name,
    listener: (eventData: TestEvents[Name]) => void | Promise<void>,
  ): UnsubscribeFn {
    const set = this.listeners.get(eventName) ?? new Set<Listener>();
    this.listeners.set(eventName, set);
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  async runTests(tests: Test[], watcher: TestWatcher, _options: TestRunnerOptions): Promise<void> {
    const workers = integrationWorkers();
    const { runInBand, detectOpenHandles } = this.globalConfig;
    if (runInBand || detectOpenHandles || workers === 1 || tests.length <= 1) {
      await this.lane(tests, watcher, 1, true);
      return;
    }
    const { realNode, shared, exclusive } = splitLanes(tests, (test) =>
      relative(test.context.config.rootDir, test.path),
    );
    await Promise.all([
      this.lane(realNode, watcher, 1, false),
      this.lane(shared, watcher, realNode.length ? Math.max(1, workers - 1) : workers, false),
    ]);
    await this.lane(exclusive, watcher, 1, false);
  }

  /**
   * Runs `tests` with jest's own runner in `workers` child processes, or in this process when
   * `inBand` (never for lanes that run at the same time: they would share one process's state).
   */
  private async lane(
    tests: Test[],
    watcher: TestWatcher,
    workers: number,
    inBand: boolean,
  ): Promise<void> {
    if (tests.length === 0) return;
    const runner = new TestRunner({ ...this.globalConfig, maxWorkers: workers }, this.context);
    const unsubscribe = EVENTS.map((name) =>
      runner.on(name, async (args) => {
        for (const listener of this.listeners.get(name) ?? []) await listener(args);
      }),
    );
    try {
      await runner.runTests(tests, watcher, { serial: inBand });
    } finally {
      for (const off of unsubscribe) off();
    }
  }
}
