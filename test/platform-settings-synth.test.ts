import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION } from '../constructs';
import { statelessDoc, writeAppsDir } from './support/definitions';

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

function settingsFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hks-settings-')), 'hks.settings.yaml');
  writeFileSync(file, text);
  return file;
}

const functionDoc = {
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name: 'fn', project: 'shop' },
  spec: { runtime: 'nodejs20', code: 'export const handler = (event) => event;\n' },
};

describe('npm run synth -- --settings', () => {
  test('the quota, limits and a runtime image of the settings are in the written manifests', () => {
    const apps = writeAppsDir({ 'a.yaml': [statelessDoc('api'), functionDoc] });
    const out = mkdtempSync(join(tmpdir(), 'hks-out-'));
    const settings = settingsFile(`tenancy:
  cpuQuota: 3
  defaultMemoryLimit: 384Mi
projects:
  shop:
    tenancy:
      podQuota: 12
runtimeImages:
  nodejs20: registry.example.com/mirror/node:20-slim
`);
    const result = synth('--apps', apps, '--out', out, '--settings', settings);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const text = readFileSync(join(out, 'shop.k8s.yaml'), 'utf8');
    expect(text).toMatch(/hard:\n\s+pods: "12"\n\s+requests.cpu: "3"\n\s+requests.memory: 16Gi/);
    expect(text).toMatch(/default:\n\s+memory: 384Mi/);
    expect(text).toContain('image: registry.example.com/mirror/node:20-slim');
    // Without --settings, the defaults.
    expect(synth('--apps', apps, '--out', out).code).toBe(0);
    const defaults = readFileSync(join(out, 'shop.k8s.yaml'), 'utf8');
    expect(defaults).toContain('requests.cpu: "8"');
    expect(defaults).toContain('image: node:20-slim');
  });

  test('a bad settings file: exit 1 with the field and value named, nothing written', () => {
    const apps = writeAppsDir({ 'a.yaml': [statelessDoc('api')] });
    const out = mkdtempSync(join(tmpdir(), 'hks-out-'));
    const settings = settingsFile('tenancy:\n  memoryQuota: plenty\n');
    const result = synth('--apps', apps, '--out', out, '--settings', settings);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `${settings}:1: tenancy.memoryQuota: given "plenty", expected a memory amount`,
    );
    expect(result.stderr).toContain('Nothing was written.');
    expect(readdirSync(out)).toEqual([]);
  });
});
