import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { parse, stringify } from 'yaml';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';

jest.setTimeout(120_000);

/**
 * The API's one Kubernetes client (api/kube-rest.ts) against the real apiserver, in a process
 * of its own (test/support/kube-rest-probe.ts): it keeps its connections alive, and a client
 * certificate replaced on disk is used from the next call on, without a restart, while a
 * watch opened over the old one goes on.
 */
const suffix = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'hks-kube-client-'));
const certFile = join(dir, 'client.crt');
const keyFile = join(dir, 'client.key');
const csrNames: string[] = [];
let probe: ChildProcessWithoutNullStreams | undefined;
let answers: Interface;

interface Answer {
  readonly username?: string;
  readonly watching?: boolean;
  readonly newConnections: number;
  readonly agentsBuilt: number;
  readonly error?: string;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A client certificate for `user` from the cluster's signer (a CSR the admin approves). */
async function issueClientCertificate(user: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${user}.key`);
  const csr = join(dir, `${user}.csr`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${user}`, '-out', csr]);
  const name = `hks-kube-client-${user}`;
  csrNames.push(name);
  await kubectlOk(
    ['create', '-f', '-'],
    stringify({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: readFileSync(csr).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client',
        expirationSeconds: 3600,
        usages: ['client auth'],
      },
    }),
  );
  await kubectlOk(['certificate', 'approve', name]);
  let issued = '';
  await waitFor(`certificate of CSR ${name}`, 30_000, async () => {
    const got = await kubectlJson<{ status?: { certificate?: string } }>(['get', 'csr', name]);
    issued = got.status?.certificate ?? '';
    return issued !== '';
  });
  return { cert: Buffer.from(issued, 'base64').toString('utf8'), key: readFileSync(key, 'utf8') };
}

/** Replaces the files as a rotation does: written aside, then renamed over the old ones. */
function install(pair: { cert: string; key: string }): void {
  writeFileSync(`${certFile}.new`, pair.cert, { mode: 0o600 });
  writeFileSync(`${keyFile}.new`, pair.key, { mode: 0o600 });
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
}

async function ask(command: string): Promise<Answer> {
  const answer = new Promise<string>((resolve) => answers.once('line', resolve));
  probe?.stdin.write(`${command}\n`);
  const parsed = JSON.parse(await answer) as Answer;
  if (parsed.error) throw new Error(`${command}: ${parsed.error}`);
  return parsed;
}

let first: { cert: string; key: string };
let second: { cert: string; key: string };

beforeAll(async () => {
  [first, second] = await Promise.all([
    issueClientCertificate(`rotation-a-${suffix}`),
    issueClientCertificate(`rotation-b-${suffix}`),
  ]);
  install(first);
  // Both identities may watch namespaces (the watch kept open across the rotation).
  await kubectlOk([
    'create', 'clusterrole', `hks-kube-client-${suffix}`, '--verb=get,list,watch', '--resource=namespaces',
  ]); // prettier-ignore
  await kubectlOk([
    'create', 'clusterrolebinding', `hks-kube-client-${suffix}`, `--clusterrole=hks-kube-client-${suffix}`,
    `--user=rotation-a-${suffix}`, `--user=rotation-b-${suffix}`,
  ]); // prettier-ignore
  const admin = parse(await kubectlOk(['config', 'view', '--raw', '--minify', '--flatten'])) as {
    clusters: { name: string; cluster: Record<string, unknown> }[];
  };
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: admin.clusters,
      users: [
        { name: 'rotating', user: { 'client-certificate': certFile, 'client-key': keyFile } },
      ],
      contexts: [
        { name: 'rotating', context: { cluster: admin.clusters[0].name, user: 'rotating' } },
      ],
      'current-context': 'rotating',
    }),
    { mode: 0o600 },
  );
  const root = resolve(__dirname, '..', '..');
  probe = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'test/support/kube-rest-probe.ts'), kubeconfig],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  answers = createInterface({ input: probe.stdout });
});

afterAll(async () => {
  probe?.stdin.end();
  probe?.kill();
  for (const name of csrNames) await kubectl(['delete', 'csr', name, '--ignore-not-found']);
  for (const kind of ['clusterrolebinding', 'clusterrole'])
    await kubectl(['delete', kind, `hks-kube-client-${suffix}`, '--ignore-not-found']);
  rmSync(dir, { recursive: true, force: true });
});

test('calls share one kept-alive connection', async () => {
  const calls: Answer[] = [];
  for (let i = 0; i < 10; i++) calls.push(await ask('whoami'));
  expect(calls.map((c) => c.username)).toEqual(Array(10).fill(`rotation-a-${suffix}`));
  // One TLS handshake for ten calls, one after the other.
  expect(calls.map((c) => c.newConnections)).toEqual(Array(10).fill(1));
});

test('a replaced client certificate is used from the next call on; an open watch goes on', async () => {
  const before = await ask('watch');
  expect((await ask('watching')).watching).toBe(true);
  install(second);
  const after = await ask('whoami');
  expect(after.username).toBe(`rotation-b-${suffix}`);
  // A new pool for the new certificate (a new handshake); the old one is kept for the watch.
  expect(after.agentsBuilt).toBe(before.agentsBuilt + 1);
  expect(after.newConnections).toBe(before.newConnections + 1);
  expect((await ask('watching')).watching).toBe(true);
  // Back to the first certificate: it is the first identity again.
  install(first);
  expect((await ask('whoami')).username).toBe(`rotation-a-${suffix}`);
});
