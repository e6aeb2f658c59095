/**
 * Runs schemathesis (property-based tests generated from an OpenAPI document) as a child
 * process and reads its figures from the JSON report it writes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The version .ci/run installs. */
export const SCHEMATHESIS_VERSION = '4.32.5';

/**
 * The command that runs the schemathesis CLI: `HKS_SCHEMATHESIS` (split on spaces) when set,
 * else `python3 -m schemathesis.cli` (the package has no `__main__`, its CLI module has).
 * @returns undefined when that command does not answer `--version`
 */
export function schemathesisCommand(): string[] | undefined {
  const command = process.env.HKS_SCHEMATHESIS?.split(' ').filter(Boolean) ?? [
    'python3',
    '-m',
    'schemathesis.cli',
  ];
  const probe = spawnSync(command[0], [...command.slice(1), '--version'], { encoding: 'utf8' });
  return probe.status === 0 ? command : undefined;
}

/**
 * A hooks module: the built-in YAML deserializer reads one document, and a response of several
 * (`GET /manifests`) makes it throw inside schemathesis' worker thread, which then drops the
 * operation. This one reads every document. It replaces each YAML media type's entry, since
 * the first matching entry wins.
 */
const HOOKS = `import schemathesis
import yaml

YAML_TYPES = ("text/yaml", "text/x-yaml", "application/x-yaml", "text/vnd.yaml", "application/yaml")


@schemathesis.deserializer(*YAML_TYPES)
def all_yaml_documents(ctx, response):
    return list(yaml.safe_load_all(response.content.decode(response.encoding or "utf-8")))
`;

/** Values schemathesis picks for a parameter with some probability, generating the rest. */
export interface Dictionary {
  /** A parameter as `path.name`, `query.follow`, `body.project`. */
  readonly parameter: string;
  readonly values: readonly string[];
  /** Share of cases that take one of the values. */
  readonly probability: number;
}

/** One schemathesis run. */
export interface SchemathesisRun {
  /** URL of the OpenAPI document. */
  readonly schemaUrl: string;
  /** Operations whose path matches this regular expression. */
  readonly includePath: string;
  /** Request headers, e.g. `authorization`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly checks: readonly string[];
  readonly maxExamples: number;
  readonly seed: number;
  /** Parameters with a fixed value in every case. */
  readonly fixed: Readonly<Record<string, string>>;
  readonly dictionaries: readonly Dictionary[];
  /** The run is killed after this long. */
  readonly timeoutMs: number;
  /** Seconds one request may take. */
  readonly requestTimeoutSeconds: number;
}

/** What a run found, from its JSON report. */
export interface SchemathesisFigures {
  readonly operations: {
    readonly selected: number;
    readonly tested: number;
    readonly skipped: number;
  };
  readonly cases: number;
  /** Distinct failures (a check failing on an operation). */
  readonly failures: number;
  /** Cases that could not be run (network errors, timeouts, schema errors). */
  readonly errors: number;
  readonly exitCode: number;
  /** schemathesis' own output: failures with curl reproductions. */
  readonly output: string;
}

interface JsonReport {
  readonly operations: { selected: number; tested: number; skipped: number };
  readonly test_cases: { generated: number; unique_failures: number; errored: number };
  readonly exit_code: number;
}

const toml = JSON.stringify;

/** The configuration file of a run: hooks, fixed parameters and dictionaries. */
function configFile(dir: string, run: SchemathesisRun): string {
  const hooks = join(dir, 'hooks.py');
  writeFileSync(hooks, HOOKS);
  const lines = [`hooks = ${toml(hooks)}`, ''];
  run.dictionaries.forEach((d, i) => {
    lines.push(`[dictionaries.d${i}]`, `values = [${d.values.map((v) => toml(v)).join(', ')}]`, '');
  });
  lines.push('[parameters]');
  for (const [name, value] of Object.entries(run.fixed))
    lines.push(`${toml(name)} = ${toml(value)}`);
  run.dictionaries.forEach((d, i) => {
    lines.push(`${toml(d.parameter)} = { dictionary = "d${i}", probability = ${d.probability} }`);
  });
  const path = join(dir, 'schemathesis.toml');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Runs schemathesis once and returns its figures; rejects only when it could not report. */
export async function runSchemathesis(
  command: readonly string[],
  run: SchemathesisRun,
): Promise<SchemathesisFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'hks-schemathesis-'));
  const args = [
    ...command.slice(1),
    '--config-file',
    configFile(dir, run),
    'run',
    run.schemaUrl,
    '--include-path-regex',
    run.includePath,
    ...Object.entries(run.headers).flatMap(([name, value]) => ['--header', `${name}: ${value}`]),
    '--checks',
    run.checks.join(','),
    '--max-examples',
    String(run.maxExamples),
    '--seed',
    String(run.seed),
    // No example database: each run is the seed's, not the previous runs'.
    '--generation-database',
    'none',
    '--request-timeout',
    String(run.requestTimeoutSeconds),
    // One worker: CPython 3.11's ast.parse is not thread-safe, and hypothesis calls it while
    // describing strategies ("AST constructor recursion depth mismatch" with two).
    '--workers',
    '1',
    '--no-color',
    '--report',
    'json',
    '--report-dir',
    dir,
  ];
  // In its own folder: schemathesis keeps a cache (.schemathesis/) where it runs.
  const child = spawn(command[0], args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs);
  const exitCode = await new Promise<number>((resolve) =>
    child.once('exit', (code) => resolve(code ?? -1)),
  );
  clearTimeout(timer);
  const report = readdirSync(dir).find((f) => f.startsWith('json-') && f.endsWith('.json'));
  if (!report)
    throw new Error(
      `schemathesis wrote no report (exit ${exitCode}, ${run.timeoutMs} ms at most):\n${output}`,
    );
  const json = JSON.parse(readFileSync(join(dir, report), 'utf8')) as JsonReport;
  return {
    operations: {
      selected: json.operations.selected,
      tested: json.operations.tested,
      skipped: json.operations.skipped,
    },
    cases: json.test_cases.generated,
    failures: json.test_cases.unique_failures,
    errors: json.test_cases.errored,
    exitCode,
    output,
  };
}
