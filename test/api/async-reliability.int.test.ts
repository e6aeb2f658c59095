import { randomBytes } from 'node:crypto';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { figuresLine, runAsyncReliability } from '../support/async-reliability';
import { testStores } from './api-process';

jest.setTimeout(600_000);

/**
 * The reliability run of asynchronous invocations, smaller than `npm run bench:async` (1000):
 * 200 invocations of a function failing 20 % of its runs at random (seeded), the API SIGKILLed
 * twice while they run and started again. Every invocation ends succeeded or dead, once in the
 * store, none lost, and none runs again after its success was stored.
 */

const prefix = `r${randomBytes(2).toString('hex')}-`;
let standIn: StandInProcess;

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

describe.each(testStores())('reliability ($name)', (testStore) => {
  test('200 invocations, 20 % failing, two SIGKILLs: each succeeded or dead exactly once', async () => {
    const { figures, violations } = await runAsyncReliability({
      count: 200,
      storeEnv: await testStore.env(),
      namespacePrefix: prefix,
      project: `asyncrel-${testStore.name}`,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`async reliability (${testStore.name}):\n${figuresLine(figures)}\n`);
    expect(violations).toEqual([]);
    expect(figures.succeeded + figures.dead).toBe(200);
    expect(figures.killsAtRuns).toHaveLength(2);
    expect(figures.failedRuns).toBeGreaterThan(0);
    expect(figures.runsAfterSuccess).toBe(0);
  });
});
