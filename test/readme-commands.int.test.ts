/**
 * The README's API walk-through ("Door 3") runs as written: its shell block is run by bash from
 * the repository root against the test cluster, with two substitutions only — the port (a free
 * one for 8080, which another process may hold) and the project (`readme-door` for `shop`,
 * which other test files use). `npm start` runs the compiled API (`npm test` builds first).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const PROJECT = 'readme-door';

/** A port free at the time of asking. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The README's first `sh` block after a heading. */
function shellBlockAfter(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error(`no sh block after ${heading} in README.md`);
  return block;
}

/** Runs a script in its own process group; the group is killed at the end (`npm start &`). */
function runScript(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the README walk-through of the API: apply a CronJob, trigger it, read its executions', async () => {
  const block = shellBlockAfter('## Door 3');
  expect(block).toContain('npm start &');
  const port = await freePort();
  const script = block
    .replaceAll('localhost:8080', `localhost:${port}`)
    .replaceAll('shop', PROJECT)
    .concat(
      `\ncurl -s -X DELETE -H "Authorization: Bearer $TOKEN" http://localhost:${port}/api/v1/projects/${PROJECT}/applications/backup\n`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'hks-readme-door-'));
  try {
    const env = {
      ...process.env,
      PORT: String(port),
      HKS_SQLITE_PATH: join(dir, 'api.sqlite'),
      HKS_LOG_LEVEL: 'warn',
    };
    // Job control gives `npm start &` a process group of its own, which the trap stops; curl
    // answers get a line each.
    const prelude = [
      'set -m',
      "trap 'kill %1 2>/dev/null; wait 2>/dev/null' EXIT",
      'curl() { local status=0; command curl "$@" || status=$?; echo; return $status; }',
    ].join('\n');
    const { code, stdout, stderr } = await runScript(`${prelude}\n${script}`, env);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const answers = stdout
      .split('\n')
      .filter((line) => line.startsWith('{') || line.startsWith('['))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const [applied, triggered, executions, deleted] = answers;
    expect(applied?.objects).toContain('CronJob/backup');
    expect(triggered?.job).toMatch(/^backup-manual-/);
    const runs = (executions?.items ?? []) as Array<Record<string, unknown>>;
    expect(runs.find((run) => run.jobName === triggered?.job)).toMatchObject({
      cronjob: 'backup',
      trigger: 'manual',
    });
    expect(deleted).toEqual({ deleted: ['CronJob/backup'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
