import { DefinitionWorkerPool, inlineDefinitionRunner } from '../api/definition-worker-pool';
import type { DefinitionJob } from '../api/definition-worker-jobs';
import { Problem } from '../api/problem';
import type { StoredApplication } from '../api/store/store';
import { ApplicationDefinition } from '../constructs';
import { cronJobDoc, statelessDoc } from './support/definitions';

const PROJECT = 'dwp-shop';

function stored(definition: ApplicationDefinition): StoredApplication {
  return {
    project: PROJECT,
    name: definition.metadata.name,
    kind: definition.kind,
    version: 1,
    definition,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  };
}

/** A StatelessApplication with `entries` env variables (about 64 bytes of JSON each). */
function bigDoc(entries: number) {
  const env: Record<string, string> = {};
  for (let i = 0; i < entries; i++) env[`VAR_${i}`] = 'x'.repeat(50);
  return statelessDoc('big', { env }, PROJECT);
}

/** The outcome of a job, a value or a thrown Problem's fields, to compare runners. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await run() };
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    return { problem: { status: error.status, detail: error.detail, errors: error.errors } };
  }
}

describe('definition worker pool', () => {
  const pool = new DefinitionWorkerPool({ workers: 2 });
  afterAll(() => pool.close());

  const api = stored(statelessDoc('api', {}, PROJECT) as ApplicationDefinition);
  const jobs: Record<string, DefinitionJob> = {
    'a valid CronJob templated on a stored application': {
      kind: 'check',
      body: cronJobDoc('report', { image: undefined, template: 'api' }, PROJECT),
      others: [api],
    },
    'a definition with bad fields and a missing template': {
      kind: 'check',
      body: cronJobDoc(
        'Bad_Name',
        { image: undefined, template: 'nope', schedule: '* *' },
        PROJECT,
      ),
      others: [api],
    },
    'a name already used by a stored application of another kind': {
      kind: 'check',
      body: cronJobDoc('api', {}, PROJECT),
      others: [stored({ ...api.definition, metadata: { name: 'api', project: PROJECT } })],
    },
    'synthesis of a CronJob with its template': {
      kind: 'synthesize',
      definitions: [
        cronJobDoc(
          'report',
          { image: undefined, template: 'api' },
          PROJECT,
        ) as ApplicationDefinition,
        api.definition,
      ],
      namespace: 'hks-dwp-shop',
    },
  };

  test.each(Object.keys(jobs))(
    '%s: same result or problem as on the calling thread',
    async (name) => {
      const job = jobs[name];
      const inline = await outcome(() => inlineDefinitionRunner.run(PROJECT, job));
      expect(await outcome(() => pool.run(PROJECT, job))).toEqual(inline);
    },
  );

  test('the 400 of a bad definition names its fields', async () => {
    const error = await pool
      .run(PROJECT, jobs['a definition with bad fields and a missing template'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Problem);
    expect((error as Problem).status).toBe(400);
    expect((error as Problem).errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['metadata.name', 'spec.template']),
    );
  });

  test('the calling thread keeps running while a big definition is synthesized', async () => {
    const job: DefinitionJob = {
      kind: 'synthesize',
      definitions: [bigDoc(15_000) as ApplicationDefinition],
      namespace: 'hks-dwp-shop',
    };
    const turns = async (run: () => Promise<unknown>) => {
      let count = 0;
      let done = false;
      const spin = () => {
        count++;
        if (!done) setImmediate(spin);
      };
      const result = run().finally(() => (done = true));
      setImmediate(spin);
      await result;
      return count;
    };
    // On the calling thread the synthesis is done before anything else runs.
    expect(await turns(() => inlineDefinitionRunner.run(PROJECT, job))).toBeLessThanOrEqual(1);
    expect(await turns(() => pool.run(PROJECT, job))).toBeGreaterThan(10);
  });

  test('a project with too many jobs at once is refused (429) while others are served', async () => {
    const narrow = new DefinitionWorkerPool({ workers: 2, perProjectJobs: 1 });
    try {
      const job: DefinitionJob = { kind: 'check', body: bigDoc(5_000), others: [] };
      const first = narrow.run(PROJECT, job);
      const second = await narrow.run(PROJECT, job).catch((e: unknown) => e);
      expect(second).toBeInstanceOf(Problem);
      expect((second as Problem).status).toBe(429);
      expect((second as Problem).headers['retry-after']).toBe('1');
      await expect(narrow.run('dwp-other', job)).resolves.toMatchObject({
        kind: 'StatelessApplication',
      });
      await expect(first).resolves.toMatchObject({ kind: 'StatelessApplication' });
    } finally {
      await narrow.close();
    }
  });

  test('a job past its time limit is a 503 and its worker is replaced', async () => {
    const strict = new DefinitionWorkerPool({ workers: 1, timeoutMs: 1000 });
    try {
      // Warm the worker so that only the check counts against the limit.
      await strict.run(PROJECT, {
        kind: 'check',
        body: statelessDoc('w', {}, PROJECT),
        others: [],
      });
      const error = await strict
        // Synthesizing 500k variables takes seconds.
        .run(PROJECT, {
          kind: 'synthesize',
          definitions: [bigDoc(500_000) as ApplicationDefinition],
          namespace: 'hks-dwp-shop',
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Problem);
      expect((error as Problem).status).toBe(503);
      expect((error as Problem).detail).toContain('1000 ms');
      await expect(
        strict.run(PROJECT, {
          kind: 'check',
          body: statelessDoc('after', {}, PROJECT),
          others: [],
        }),
      ).resolves.toMatchObject({ metadata: { name: 'after' } });
    } finally {
      await strict.close();
    }
    // Two worker starts (the first and its replacement) load the constructs: seconds each on a
    // loaded machine, past jest's default 5 s.
  }, 30_000);
});
