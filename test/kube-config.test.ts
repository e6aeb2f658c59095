import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Without a cluster to talk to, the API and the Knative stand-in stop at once and say what to
 * set — instead of client-node's quiet fallback to http://localhost:8080 failing later.
 * (Processes: jest cannot load @kubernetes/client-node.)
 */
const ROOT = join(__dirname, '..');
const home = mkdtempSync(join(tmpdir(), 'hks-no-kube-'));

function run(script: string, args: string[], env: Record<string, string | undefined>) {
  const base: NodeJS.ProcessEnv = { ...process.env, HOME: home, KUBECONFIG: undefined };
  delete base.KUBERNETES_SERVICE_HOST;
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stderr: result.stderr };
}

const apiEnv = {
  HKS_JWT_SECRET: 'x'.repeat(32),
  HKS_SQLITE_PATH: join(home, 'api.db'),
};

jest.setTimeout(60_000);

test('no KUBECONFIG, no ~/.kube/config, not in a pod: both name what is missing', () => {
  const api = run('api/main.ts', [], apiEnv);
  expect(api.code).toBe(2);
  expect(api.stderr).toContain('no cluster configured: KUBECONFIG is not set');
  expect(api.stderr).toContain(join(home, '.kube', 'config'));
  const standIn = run('dev/knative/main.ts', ['--install-crds'], {});
  expect(standIn.code).toBe(1);
  expect(standIn.stderr).toContain('no cluster configured');
  expect(standIn.stderr).toContain('export KUBECONFIG=');
});

test('a KUBECONFIG naming a missing file is refused with the file', () => {
  const missing = join(home, 'nope.yaml');
  const api = run('api/main.ts', [], { ...apiEnv, KUBECONFIG: missing });
  expect(api.code).toBe(2);
  expect(api.stderr).toContain(`KUBECONFIG: given "${missing}", but ${missing} does not exist`);
  const standIn = run('dev/knative/main.ts', [], { KUBECONFIG: missing });
  expect(standIn.code).toBe(1);
  expect(standIn.stderr).toContain(`but ${missing} does not exist`);
});
