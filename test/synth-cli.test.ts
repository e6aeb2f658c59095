import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cronJobDoc, statelessDoc, writeAppsDir } from './support/definitions';

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function synth(...args: string[]) {
  const env = { ...process.env };
  delete env.CDK8S_OUTDIR;
  const result = spawnSync(TSX, [join(ROOT, 'cli', 'synth.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const scratch = () => mkdtempSync(join(tmpdir(), 'hks-out-'));

describe('npm run synth', () => {
  test('writes one deterministic file per project; a second run is byte-identical', () => {
    const apps = writeAppsDir({
      'a.yaml': [statelessDoc('api'), cronJobDoc('job', {}, 'billing')],
    });
    const out = scratch();
    const first = synth('--apps', apps, '--out', out);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(
      /^Synthesized 2 applications of 2 projects into .*: billing.k8s.yaml, shop.k8s.yaml\n$/,
    );
    const before = readFileSync(join(out, 'shop.k8s.yaml'), 'utf8');
    expect(synth('--apps', apps, '--out', out).code).toBe(0);
    expect(readFileSync(join(out, 'shop.k8s.yaml'), 'utf8')).toBe(before);
    expect(readdirSync(out).sort()).toEqual(['billing.k8s.yaml', 'shop.k8s.yaml']);
  });

  test('moving documents between files changes nothing in the output', () => {
    const oneFile = writeAppsDir({
      'all.yaml': [
        cronJobDoc('b-job'),
        statelessDoc('api'),
        cronJobDoc('a-job', { image: undefined, template: 'api' }),
      ],
    });
    const split = writeAppsDir({
      '1.yaml': [cronJobDoc('a-job', { image: undefined, template: 'api' })],
      '2.yaml': [statelessDoc('api'), cronJobDoc('b-job')],
    });
    const [outA, outB] = [scratch(), scratch()];
    expect(synth('--apps', oneFile, '--out', outA).code).toBe(0);
    expect(synth('--apps', split, '--out', outB).code).toBe(0);
    expect(readFileSync(join(outA, 'shop.k8s.yaml'), 'utf8')).toBe(
      readFileSync(join(outB, 'shop.k8s.yaml'), 'utf8'),
    );
  });

  test('invalid definitions: exit 1, every problem listed, nothing written', () => {
    const apps = writeAppsDir({
      'shop.yaml': [
        statelessDoc('api', { resources: { cpu: 'lots' } }),
        cronJobDoc('job', { schedule: 'CRON_TZ=UTC 0 3 * * *' }),
      ],
    });
    const out = scratch();
    writeFileSync(join(out, 'shop.k8s.yaml'), 'previous\n');
    const result = synth('--apps', apps, '--out', out);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('2 problems in application definitions:');
    expect(result.stderr).toMatch(
      /shop.yaml:1: spec.resources.cpu: given "lots", expected a CPU amount .* \(line \d+\)/,
    );
    expect(result.stderr).toMatch(
      /shop.yaml:2: spec.schedule: given "CRON_TZ=UTC 0 3 \* \* \*", expected no CRON_TZ=\/TZ= prefix/,
    );
    expect(result.stderr).toContain('Nothing was written.');
    expect(readdirSync(out)).toEqual(['shop.k8s.yaml']);
    expect(readFileSync(join(out, 'shop.k8s.yaml'), 'utf8')).toBe('previous\n');
  });

  test('--check: 0 when up to date, 1 naming changed, missing and stale files, writing nothing', () => {
    const apps = writeAppsDir({
      'a.yaml': [statelessDoc('api'), cronJobDoc('job', {}, 'billing')],
    });
    const out = scratch();
    expect(synth('--apps', apps, '--out', out).code).toBe(0);
    expect(synth('--apps', apps, '--out', out, '--check')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/is up to date/),
    });

    writeFileSync(join(out, 'shop.k8s.yaml'), 'edited by hand\n');
    writeFileSync(join(out, 'gone.k8s.yaml'), 'old project\n');
    writeFileSync(join(out, 'README.md'), 'not ours\n');
    const drift = synth('--apps', apps, '--out', out, '--check');
    expect(drift.code).toBe(1);
    expect(drift.stderr).toContain('changed: shop.k8s.yaml');
    expect(drift.stderr).toContain('stale:   gone.k8s.yaml');
    expect(readFileSync(join(out, 'shop.k8s.yaml'), 'utf8')).toBe('edited by hand\n');

    const empty = scratch();
    expect(synth('--apps', apps, '--out', empty, '--check').stderr).toContain(
      'missing: billing.k8s.yaml',
    );

    // A real synth repairs the folder: stale manifests go, other files stay.
    expect(synth('--apps', apps, '--out', out).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['README.md', 'billing.k8s.yaml', 'shop.k8s.yaml']);
  });

  test('--namespace-prefix maps projects to namespaces', () => {
    const apps = writeAppsDir({ 'a.yaml': [statelessDoc('api')] });
    const out = scratch();
    expect(synth('--apps', apps, '--out', out, '--namespace-prefix', 'team-').code).toBe(0);
    const text = readFileSync(join(out, 'shop.k8s.yaml'), 'utf8');
    expect(text).toContain('  name: team-shop\n');
    expect(text).toContain('  namespace: team-shop\n');
    expect(text).toContain('hks.hexabase.io/project: shop');
  });

  test('bad flags: exit 2 with a message', () => {
    expect(synth('--frobnicate')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("unknown option '--frobnicate'"),
    });
    expect(synth('--namespace-prefix', 'Team_')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        '--namespace-prefix: given "Team_", expected lower-case letters',
      ),
    });
    const missing = synth('--apps', '/nonexistent/apps', '--out', scratch());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/nonexistent/apps:0: given a path that does not exist');
  });

  test('the committed dist/ is up to date with apps/', () => {
    expect(synth('--check')).toMatchObject({ code: 0 });
  });

  test('npx cdk8s synth produces the same output as the synth command', () => {
    const out = scratch();
    const result = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'cdk8s'),
      ['synth', '--output', out, '--check-upgrade', 'false'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(0);
    expect(existsSync(join(out, 'shop.k8s.yaml'))).toBe(true);
    expect(readFileSync(join(out, 'shop.k8s.yaml'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'dist', 'shop.k8s.yaml'), 'utf8'),
    );
  }, 60_000);
});
