import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationClaims } from '../api/application-claims';
import { checkAgainstStored } from '../api/check-against-stored';
import { checkIfMatch, entityTag } from '../api/entity-tag';
import { Problem } from '../api/problem';
import { Store } from '../api/store/store';
import type { ApplicationDefinition } from '../constructs';
import { cronJobDoc, statelessDoc } from './support/definitions';

const asDefinition = (doc: unknown) => doc as ApplicationDefinition;

/** Two stores on one SQLite file: two API processes sharing it. */
async function twoStores(): Promise<[Store, Store]> {
  const sqlitePath = join(mkdtempSync(join(tmpdir(), 'hks-claims-')), 'api.sqlite');
  const first = await Store.open({ sqlitePath });
  return [first, await Store.open({ sqlitePath })];
}

describe('application claims in the store', () => {
  let a: Store;
  let b: Store;
  beforeEach(async () => {
    [a, b] = await twoStores();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  test('one holder at a time; a new application is invisible until its first commit', async () => {
    const def = asDefinition(statelessDoc('web'));
    const first = await a.claimApplication('shop', 'web', 'owner-a', 10_000, def);
    expect(first).toEqual({ state: 'held' });
    expect(await b.claimApplication('shop', 'web', 'owner-b', 10_000, def)).toMatchObject({
      state: 'busy',
    });
    expect(await b.getApplication('shop', 'web')).toBeUndefined();
    expect(await b.listApplications('shop')).toEqual([]);
    expect((await b.getInterruptedApply('shop', 'web'))?.definition).toEqual(def);
    const stored = await a.commitApplication('owner-a', def);
    expect(stored.version).toBe(1);
    await a.releaseApplication('shop', 'web', 'owner-a', false);
    const second = await b.claimApplication('shop', 'web', 'owner-b', 10_000, def);
    expect(second).toMatchObject({ state: 'held', current: { version: 1 } });
    expect(second.state === 'held' && second.interrupted).toBeUndefined();
  });

  test('an expired claim (its process died) is taken over, with what it left recorded', async () => {
    const def = asDefinition(statelessDoc('web'));
    await a.claimApplication('shop', 'web', 'dead', 1, def);
    await new Promise((r) => setTimeout(r, 10));
    const taken = await b.claimApplication('shop', 'web', 'alive', 10_000);
    expect(taken).toMatchObject({ state: 'held', interrupted: { definition: def } });
    // The dead holder can no longer store anything.
    await expect(a.commitApplication('dead', def)).rejects.toThrow(/another apply took it over/);
  });

  test('a failed first apply released without keeping it leaves no row', async () => {
    const def = asDefinition(statelessDoc('web'));
    await a.claimApplication('shop', 'web', 'owner', 10_000, def);
    await a.releaseApplication('shop', 'web', 'owner', false);
    expect(await a.claimApplication('shop', 'web', 'other', 10_000)).toEqual({
      state: 'absent',
    });
  });

  test('ApplicationClaims waits for the holder, then 409s with Retry-After', async () => {
    const claims = new ApplicationClaims(a, { leaseMs: 5_000, waitMs: 300 });
    const def = asDefinition(statelessDoc('web'));
    const held = await claims.acquire('shop', 'web', def);
    const started = Date.now();
    const refused = await claims.acquire('shop', 'web', def).catch((e: Problem) => e);
    expect(refused).toBeInstanceOf(Problem);
    expect((refused as Problem).status).toBe(409);
    expect(Number((refused as Problem).headers['retry-after'])).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const waiting = claims.acquire('shop', 'web', def);
    await held?.release();
    const next = await waiting;
    expect(next).toBeDefined();
    await next?.release();
  });
});

describe('entity tags', () => {
  const app = {
    project: 'shop',
    name: 'web',
    kind: 'StatelessApplication',
    version: 3,
    definition: asDefinition(statelessDoc('web')),
    createdAt: '2024-01-02T03:04:05.678Z',
    updatedAt: '2024-01-02T03:04:05.678Z',
  };

  test('strong comparison, lists and *', () => {
    const tag = entityTag(app);
    expect(tag).toMatch(/^"3-[0-9a-z]+"$/);
    expect(() => checkIfMatch(undefined, app)).not.toThrow();
    expect(() => checkIfMatch(tag, app)).not.toThrow();
    expect(() => checkIfMatch(`"x", ${tag}`, app)).not.toThrow();
    expect(() => checkIfMatch('*', app)).not.toThrow();
    expect(() => checkIfMatch(`W/${tag}`, app)).toThrow(/If-Match: given/);
    expect(() => checkIfMatch('*', undefined)).toThrow(/the application does not exist/);
  });

  test('a name created again does not repeat a tag', () => {
    expect(entityTag({ ...app, version: 1 })).not.toBe(
      entityTag({ ...app, version: 1, createdAt: '2024-01-02T03:04:06.000Z' }),
    );
  });
});

describe('checking a definition against stored ones a newer schema rejects', () => {
  const stored = (doc: Record<string, unknown> & { metadata: { name: string } }, version = 1) => ({
    project: 'shop',
    name: doc.metadata.name,
    kind: String(doc.kind),
    version,
    definition: asDefinition(doc),
    createdAt: '2024-01-02T03:04:05.678Z',
    updatedAt: '2024-01-02T03:04:05.678Z',
  });
  const broken = stored(statelessDoc('legacy', { replicas: 'three' }), 4);

  test('an unrelated write passes', () => {
    expect(checkAgainstStored(statelessDoc('web'), [broken]).metadata.name).toBe('web');
    expect(
      checkAgainstStored(cronJobDoc('job', { template: 'web', image: undefined }), [
        broken,
        stored(statelessDoc('web')),
      ]).metadata.name,
    ).toBe('job');
  });

  test('a CronJob templated on it is refused naming it', () => {
    const problem = (() => {
      try {
        checkAgainstStored(cronJobDoc('job', { template: 'legacy', image: undefined }), [broken]);
      } catch (error) {
        return error as Problem;
      }
      throw new Error('expected a problem');
    })();
    expect(problem.status).toBe(409);
    expect(problem.errors).toEqual([
      {
        path: 'spec.template',
        message: expect.stringContaining(
          'given "legacy": the stored definition of "legacy" (version 4, the template) no longer passes the schema (spec.replicas:',
        ),
      },
    ]);
  });

  test("the body's own errors still come first, without the stored ones", () => {
    expect(() => checkAgainstStored(statelessDoc('web', { port: 'x' }), [broken])).toThrow(
      /^spec\.port: /,
    );
  });
});
