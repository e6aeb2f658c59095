import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FunctionService, type FunctionServiceProps } from '../constructs';
import { type StartedKnativeStandIn, startKnativeStandIn } from '../dev/knative';
import { kubeconfigPath } from './cluster/kubeconfig';
import { installKnativeServingCrds } from './cluster/knative';
import { kubectl, kubectlJson, kubectlOk } from './cluster/kubectl';
import { projectChart, synth } from './support/manifests';

/**
 * The Knative stand-in's function processes, for real: run as root (as here and in CI),
 * it starts them as nobody, with only their container's environment; they cannot read the
 * stand-in's environment in /proc nor its state folder.
 */
jest.setTimeout(120_000);

const prefix = `kni${randomBytes(2).toString('hex')}-`;
const namespace = `${prefix}fn`;
const marker = `marker-${randomBytes(8).toString('hex')}`;
const asRoot = process.getuid?.() === 0;
const stateDir = mkdtempSync(join(tmpdir(), 'hks-knative-isolation-'));
/** Stands for a secret file kept beside the revisions (e.g. a copy of a kubeconfig). */
const secretFile = join(stateDir, 'kubeconfig');
let standIn: StartedKnativeStandIn;

/** What a probe function reports about itself. */
interface Report {
  uid: number;
  gid: number;
  ppid: number;
  env: Record<string, string>;
  /** Outcome of reading each path: `read` or the error. */
  reads: Record<string, string>;
  /** Outcome of writing a file next to its own code. */
  writeOwnDir: string;
}

async function deploy(name: string, props: FunctionServiceProps): Promise<string> {
  const chart = projectChart('fn', namespace);
  new FunctionService(chart, name, props);
  const items = synth(chart).sort(
    (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
  );
  await kubectlOk(
    ['apply', '--server-side', '--field-manager=hks-tests', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
  await kubectlOk([
    'wait',
    '--for=condition=Ready',
    '--timeout=45s',
    '-n',
    namespace,
    `ksvc/${name}`,
  ]);
  const service = await kubectlJson<{ status?: { url?: string } }>([
    'get',
    'ksvc',
    name,
    '-n',
    namespace,
  ]);
  return service.status?.url ?? '';
}

async function report(url: string, name: string): Promise<Report> {
  const paths = {
    parentEnviron: `/proc/${standIn.pid}/environ`,
    containerLog: join(stateDir, namespace, name, `${name}-00001`, 'container.log'),
    secretFile,
  };
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ paths }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Report;
}

const pythonProbe = `
import os

def attempt(action):
    try:
        action()
        return "read"
    except Exception as error:
        return type(error).__name__

def handler(event, context):
    def read(path):
        with open(path, "rb") as f:
            f.read()
    def write():
        with open(os.path.join(os.environ["HKS_FUNCTION_DIR"], "new.txt"), "w") as f:
            f.write("x")
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "ppid": os.getppid(),
        "env": dict(os.environ),
        "reads": {k: attempt(lambda p=p: read(p)) for k, p in event["paths"].items()},
        "writeOwnDir": attempt(write),
    }
`;

const nodeProbe = `
const fs = require('node:fs');
const path = require('node:path');
const attempt = (action) => { try { action(); return 'read'; } catch (e) { return e.code; } };
exports.handler = async (event) => ({
  uid: process.getuid(),
  gid: process.getgid(),
  ppid: process.ppid,
  env: { ...process.env },
  reads: Object.fromEntries(
    Object.entries(event.paths).map(([k, p]) => [k, attempt(() => fs.readFileSync(p))]),
  ),
  writeOwnDir: attempt(() =>
    fs.writeFileSync(path.join(process.env.HKS_FUNCTION_DIR, 'new.txt'), 'x'),
  ),
});
`;

/** Variables a function may see: the basics, the runtime's, its own, Knative's. */
const ALLOWED =
  /^(PATH|HOME|LANG|PORT|HKS_(FUNCTION_DIR|HANDLER|FUNCTION_NAME|TIMEOUT_SECONDS)|PYTHON(DONTWRITEBYTECODE|UNBUFFERED)|K_(SERVICE|CONFIGURATION|REVISION)|GREETING)$/;

function expectScrubbed(env: Record<string, string>): void {
  expect(Object.keys(env).filter((k) => !ALLOWED.test(k))).toEqual([]);
  expect(env).toMatchObject({ GREETING: 'hi', HOME: '/tmp', K_SERVICE: expect.any(String) });
  expect(JSON.stringify(env)).not.toContain(marker);
}

beforeAll(async () => {
  await installKnativeServingCrds();
  writeFileSync(secretFile, 'stands for a secret\n', { mode: 0o644 });
  // The stand-in inherits this process's environment: these must not reach the functions.
  const saved = { ...process.env };
  process.env.HKS_TEST_SECRET_MARKER = marker;
  process.env.HKS_JWT_SECRET = marker;
  try {
    standIn = await startKnativeStandIn({
      kubeconfig: kubeconfigPath(),
      namespacePrefix: prefix,
      stateDir,
    });
  } finally {
    process.env = saved;
  }
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
  await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
});

test('a python function runs unprivileged, with only its environment, away from the stand-in', async () => {
  const url = await deploy('py-probe', {
    runtime: 'python3.12',
    code: pythonProbe,
    env: { GREETING: 'hi' },
  });
  const seen = await report(url, 'py-probe');
  expectScrubbed(seen.env);
  expect(seen.ppid).toBe(standIn.pid);
  if (asRoot) {
    expect({ uid: seen.uid, gid: seen.gid }).toEqual({ uid: 65534, gid: 65534 });
    expect(seen.reads).toEqual({
      parentEnviron: 'PermissionError',
      containerLog: 'PermissionError',
      secretFile: 'PermissionError',
    });
    expect(seen.writeOwnDir).toBe('PermissionError');
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
  } else {
    expect(seen.uid).toBe(process.getuid?.());
  }
});

test('a node function runs unprivileged, with only its environment', async () => {
  const url = await deploy('node-probe', {
    runtime: 'nodejs20',
    code: nodeProbe,
    env: { GREETING: 'hi' },
  });
  const seen = await report(url, 'node-probe');
  expectScrubbed(seen.env);
  if (asRoot) {
    expect(seen.uid).toBe(65534);
    expect(seen.reads).toEqual({
      parentEnviron: 'EACCES',
      containerLog: 'EACCES',
      secretFile: 'EACCES',
    });
    expect(seen.writeOwnDir).toBe('EACCES');
  } else {
    expect(seen.uid).toBe(process.getuid?.());
  }
});
