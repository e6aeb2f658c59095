/**
 * `npm run bench:async -- [--count 1000] [--database-url postgres://...] [--seed 17]` — the
 * reliability run of asynchronous invocations (test/support/async-reliability.ts): `--count`
 * invocations of a function that fails 20 % of its runs at random (seeded), the API SIGKILLed
 * twice while they run and started again. Prints the figures, then whether every invocation
 * ended succeeded or dead, once in the store, none lost and none run after its success.
 *
 * Brings up what it needs as the other benches do: the test control plane (KUBECONFIG, else the
 * harness's cluster, reused or started and stopped again), the Knative CRDs and stand-in, API
 * processes from `startApi`. SQLite by default.
 *
 * Exit codes: 0 every guarantee held, 1 one failed (or the run broke), 2 bad usage.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { clusterDown, clusterUp } from '../test/cluster/cluster';
import { figuresLine, runAsyncReliability } from '../test/support/async-reliability';
import { startStandIn } from '../test/support/knative-stand-in';

interface Options {
  readonly count: number;
  readonly seed: number;
  readonly databaseUrl?: string;
}

function parseOptions(args: readonly string[]): Options | string {
  let count = 1000;
  let seed = 17;
  let databaseUrl: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === '--count' || flag === '--seed') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 100_000)
        return `${flag}: given ${JSON.stringify(value)}, expected a whole number from 1 to 100000`;
      if (flag === '--count') count = n;
      else seed = n;
    } else if (flag === '--database-url') {
      if (!/^postgres(ql)?:\/\//.test(value ?? ''))
        return `--database-url: given ${JSON.stringify(value)}, expected postgres://user:password@host:port/database`;
      databaseUrl = value;
    } else
      return `${JSON.stringify(flag)}: expected --count <n>, --seed <n> or --database-url <postgres://...>`;
  }
  return { count, seed, databaseUrl };
}

/** A fresh database beside the one of `url`. */
async function freshDatabase(url: string): Promise<string> {
  const name = `hks_bench_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return fresh.toString();
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (typeof options === 'string') {
    process.stderr.write(`${options}\n`);
    return 2;
  }
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  let startedCluster = false;
  if (!process.env.KUBECONFIG) {
    const up = await clusterUp(progress);
    process.env.KUBECONFIG = up.kubeconfig;
    startedCluster = up.started;
  }
  const prefix = `b${randomBytes(2).toString('hex')}-`;
  const standIn = await startStandIn(prefix);
  try {
    const storeEnv: Record<string, string> = options.databaseUrl
      ? { HKS_DATABASE_URL: await freshDatabase(options.databaseUrl) }
      : { HKS_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'hks-bench-')), 'api.sqlite') };
    const { figures, violations } = await runAsyncReliability({
      count: options.count,
      seed: options.seed,
      storeEnv,
      namespacePrefix: prefix,
      project: 'bench-async',
      log: progress,
    });
    process.stdout.write(
      `async reliability (${options.databaseUrl ? 'postgres' : 'sqlite'}, seed ${options.seed}):\n${figuresLine(figures)}\n`,
    );
    if (violations.length === 0) {
      process.stdout.write('every invocation succeeded or dead exactly once: held\n');
      return 0;
    }
    process.stdout.write(`FAILED (${violations.length}):\n${violations.slice(0, 50).join('\n')}\n`);
    return 1;
  } finally {
    await standIn.stop();
    if (startedCluster) await clusterDown(progress);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
