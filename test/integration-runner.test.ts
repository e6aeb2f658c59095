import { integrationWorkers, splitLanes, WORKERS_ENV } from './support/integration-runner';
import { EXCLUSIVE_SUITES, REAL_NODE_SUITES } from './support/suite-groups';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

describe('the integration runner', () => {
  test('puts the real-node and the exclusive suites in their lanes, the rest shared, in order', () => {
    const paths = [
      'test/api/cronjobs.int.test.ts',
      'test/console.int.test.ts',
      'test/pulumi-stack.int.test.ts',
      'test/api/metrics.int.test.ts',
      'test/cluster/real-node.int.test.ts',
    ];
    expect(splitLanes(paths, (p) => p)).toEqual({
      realNode: ['test/console.int.test.ts', 'test/cluster/real-node.int.test.ts'],
      shared: ['test/api/cronjobs.int.test.ts', 'test/api/metrics.int.test.ts'],
      exclusive: ['test/pulumi-stack.int.test.ts'],
    });
  });

  test('names only suites that exist, so that a renamed one cannot slip into the shared lane', () => {
    const root = join(__dirname, '..');
    for (const path of [...REAL_NODE_SUITES, ...EXCLUSIVE_SUITES])
      expect([path, existsSync(join(root, path))]).toEqual([path, true]);
  });

  test(`${WORKERS_ENV}: 3 by default, a positive integer, else an error naming what was given`, () => {
    expect(integrationWorkers({})).toBe(3);
    expect(integrationWorkers({ [WORKERS_ENV]: '1' })).toBe(1);
    for (const bad of ['0', '-2', '1.5', 'two'])
      expect(() => integrationWorkers({ [WORKERS_ENV]: bad })).toThrow(
        `${WORKERS_ENV}: given "${bad}", expected a positive integer`,
      );
  });
});
