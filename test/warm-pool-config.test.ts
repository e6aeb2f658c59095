import { ConfigError } from '../api/config';
import { readWarmPoolSettings } from '../api/warm-pool-config';

describe('HKS_WARM_POOL_* settings', () => {
  test('no project gets a pool unless listed', () => {
    expect(readWarmPoolSettings(10, {}).sizes.size).toBe(0);
    expect(readWarmPoolSettings(10, { HKS_WARM_POOL_SIZE: '2' }).sizes.size).toBe(0);
  });

  test('a listed project takes its own size or HKS_WARM_POOL_SIZE; size 0 is no pool', () => {
    const settings = readWarmPoolSettings(10, {
      HKS_WARM_POOL_PROJECTS: 'shop=2, ci=1,lab,off=0',
      HKS_WARM_POOL_SIZE: '3',
    });
    expect([...settings.sizes]).toEqual([
      ['shop', 2],
      ['ci', 1],
      ['lab', 3],
    ]);
    expect(settings.runtimes).toEqual(['python3.12', 'nodejs20']);
    expect(readWarmPoolSettings(10, { HKS_WARM_POOL_PROJECTS: 'lab' }).sizes.size).toBe(0);
    expect(
      readWarmPoolSettings(10, {
        HKS_WARM_POOL_PROJECTS: 'a=1',
        HKS_WARM_POOL_RUNTIMES: 'nodejs20',
      }).runtimes,
    ).toEqual(['nodejs20']);
  });

  test.each([
    [
      { HKS_WARM_POOL_SIZE: 'two' },
      'HKS_WARM_POOL_SIZE: given "two", expected a whole number from 0 to 20',
    ],
    [
      { HKS_WARM_POOL_PROJECTS: 'shop=21' },
      'HKS_WARM_POOL_PROJECTS (shop): given "21", expected a whole number from 0 to 20',
    ],
    [
      { HKS_WARM_POOL_PROJECTS: 'Shop=1' },
      'HKS_WARM_POOL_PROJECTS: given "Shop=1", expected project or project=size',
    ],
    [
      { HKS_WARM_POOL_PROJECTS: 'a=1=2' },
      'HKS_WARM_POOL_PROJECTS: given "a=1=2", expected project or project=size',
    ],
    [
      { HKS_WARM_POOL_RUNTIMES: 'image' },
      'HKS_WARM_POOL_RUNTIMES: given "image", expected a comma-separated list of python3.12, nodejs20',
    ],
    [
      { HKS_WARM_POOL_PROJECTS: 'shop=5' },
      'HKS_WARM_POOL_PROJECTS (shop): 5 per runtime for 2 runtimes holds 10 temporary functions, expected fewer than HKS_EPHEMERAL_MAX_PER_PROJECT=10',
    ],
    [
      { HKS_WARM_POOL_MODE: 'pods' },
      'HKS_WARM_POOL_MODE: given "pods", expected services or deployment',
    ],
    [
      { HKS_WARM_POOL_MODE: 'deployment', HKS_WARM_POOL_PROJECTS: 'shop=1' },
      'HKS_WARM_POOL_KEY: given none, expected at least 32 characters with HKS_WARM_POOL_MODE=deployment',
    ],
    [
      {
        HKS_WARM_POOL_MODE: 'deployment',
        HKS_WARM_POOL_PROJECTS: 'shop=1',
        HKS_WARM_POOL_KEY: 'short',
      },
      'HKS_WARM_POOL_KEY: given 5 characters, expected at least 32 characters',
    ],
  ])('refuses %j naming the variable, the value and what is expected', (env, message) => {
    const read = () => readWarmPoolSettings(10, env);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(message);
  });
});

describe('warm pool mode', () => {
  it('is services unless set, and deployment with its key', () => {
    expect(readWarmPoolSettings(10, {}).mode).toBe('services');
    const key = 'k'.repeat(32);
    expect(
      readWarmPoolSettings(10, {
        HKS_WARM_POOL_MODE: 'deployment',
        HKS_WARM_POOL_PROJECTS: 'shop=1',
        HKS_WARM_POOL_KEY: key,
      }),
    ).toMatchObject({ mode: 'deployment', key });
    // Without pools the key is not needed.
    expect(readWarmPoolSettings(10, { HKS_WARM_POOL_MODE: 'deployment' }).mode).toBe('deployment');
  });
});
