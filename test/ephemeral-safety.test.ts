import { loadConfig } from '../api/config';
import { EphemeralCap } from '../api/ephemeral-cap';
import { DEFAULT_EPHEMERAL_LIMITS, ephemeralResources } from '../api/ephemeral-resources';
import { Problem } from '../api/problem';

const SECRET = { HKS_JWT_SECRET: 'a-test-secret-of-at-least-thirty-two-bytes' };

describe('limits of temporary functions', () => {
  test('defaults: 1 CPU and 256Mi limits over 100m and 128Mi requests', () => {
    expect(ephemeralResources(DEFAULT_EPHEMERAL_LIMITS)).toEqual({
      cpu: '100m',
      memory: '128Mi',
      cpuLimit: '1',
      memoryLimit: '256Mi',
    });
  });

  test('a limit below the default request lowers the request to it', () => {
    expect(ephemeralResources({ cpuLimit: '50m', memoryLimit: '64Mi' })).toEqual({
      cpu: '50m',
      memory: '64Mi',
      cpuLimit: '50m',
      memoryLimit: '64Mi',
    });
  });

  test('configuration: the variables, their defaults, and errors naming the value', () => {
    const defaults = loadConfig({ ...SECRET }, '/tmp');
    expect(defaults).toMatchObject({
      ephemeralCpuLimit: '1',
      ephemeralMemoryLimit: '256Mi',
      ephemeralMaxPerProject: 10,
    });
    expect(
      loadConfig(
        {
          ...SECRET,
          HKS_EPHEMERAL_CPU_LIMIT: '500m',
          HKS_EPHEMERAL_MEMORY_LIMIT: '1Gi',
          HKS_EPHEMERAL_MAX_PER_PROJECT: '3',
        },
        '/tmp',
      ),
    ).toMatchObject({
      ephemeralCpuLimit: '500m',
      ephemeralMemoryLimit: '1Gi',
      ephemeralMaxPerProject: 3,
    });
    expect(() =>
      loadConfig(
        {
          ...SECRET,
          HKS_EPHEMERAL_CPU_LIMIT: 'lots',
          HKS_EPHEMERAL_MEMORY_LIMIT: '1.5Ki',
          HKS_EPHEMERAL_MAX_PER_PROJECT: '0',
        },
        '/tmp',
      ),
    ).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          'HKS_EPHEMERAL_MAX_PER_PROJECT: given "0", expected a whole number from 1 to 1000',
          'HKS_EPHEMERAL_CPU_LIMIT: given "lots", expected a CPU amount such as 250m, 0.5 or 2 (whole millicores, more than 0)',
          expect.stringMatching(/^HKS_EPHEMERAL_MEMORY_LIMIT: given "1.5Ki" .*whole number of Mi/),
        ]),
      }),
    );
  });
});

describe('the per-project cap', () => {
  const now = () => Date.now() / 1000;

  test('counts the cluster and in-flight deploys once each; 429 with Retry-After beyond it', async () => {
    const live = [{ name: 'fn-a', expiresAt: now() + 30 }];
    const cap = new EphemeralCap(3, async () => live);
    const b = await cap.reserve('shop', { name: 'exec-b', expiresAt: now() + 100 });
    // Once its Service is live, the cluster lists it too: it still counts once.
    live.push({ name: 'exec-b', expiresAt: now() + 100 });
    await cap.reserve('shop', { name: 'exec-c', expiresAt: now() + 100 });
    const refused = await cap
      .reserve('shop', { name: 'exec-d', expiresAt: now() + 100 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Problem);
    expect(refused).toMatchObject({
      status: 429,
      detail: expect.stringContaining('has 3 temporary functions'),
      headers: { 'retry-after': expect.stringMatching(/^(29|30)$/) },
    });
    // Other projects are not affected.
    await expect(
      cap.reserve('billing', { name: 'exec-e', expiresAt: now() }),
    ).resolves.toBeDefined();
    b.release();
    live.pop();
    await expect(cap.reserve('shop', { name: 'exec-f', expiresAt: now() })).resolves.toBeDefined();
  });

  test('concurrent reservations of one project are admitted one after the other', async () => {
    let lists = 0;
    const cap = new EphemeralCap(2, async () => {
      lists += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return [];
    });
    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((name) => cap.reserve('shop', { name, expiresAt: now() + 5 })),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    expect(lists).toBe(4);
    const retryAfter = (results[2] as PromiseRejectedResult).reason as Problem;
    expect(Number(retryAfter.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter.headers['retry-after'])).toBeLessThanOrEqual(60);
  });
});
