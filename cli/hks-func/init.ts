import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  API_VERSION,
  checkDefinitions,
  DEFAULT_HANDLERS,
  DefinitionError,
  formatProblem,
  SourceRuntimeName,
} from '../../constructs';
import { action, CliIo } from './context';
import { CliError } from './errors';

/** `--runtime` values and the Function runtime each one stands for. */
export const INIT_RUNTIMES: Readonly<Record<'python' | 'node', SourceRuntimeName>> = {
  python: 'python3.12',
  node: 'nodejs20',
};

const HANDLERS: Readonly<Record<SourceRuntimeName, { file: string; code: string }>> = {
  'python3.12': {
    file: 'main.py',
    code: `def handler(event, context):
    """Answers {"name": "..."} with a greeting. event is the request body parsed as JSON."""
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    context.logger.info("greeting", name=name)
    return {"message": f"Hello, {name}!"}
`,
  },
  nodejs20: {
    file: 'index.js',
    code: `'use strict';
/** Answers {"name": "..."} with a greeting. event is the request body parsed as JSON. */
exports.handler = async (event, context) => {
  const name = event && typeof event === 'object' && event.name ? event.name : 'world';
  context.logger.info('greeting', { name });
  return { message: \`Hello, \${name}!\` };
};
`,
  },
};

/** The files `init` writes, by path relative to the target folder. */
export function scaffoldFiles(
  name: string,
  project: string,
  runtime: SourceRuntimeName,
): Record<string, string> {
  const handler = HANDLERS[runtime];
  const definition = `# A Function: deploy it with "hks-func deploy", run it here with "hks-func run-local".
apiVersion: ${API_VERSION}
kind: Function
metadata:
  name: ${name}
  project: ${project}
spec:
  runtime: ${runtime}
  handler: ${DEFAULT_HANDLERS[runtime]}
  source: ./src # the folder holding the code, relative to this file
  timeoutSeconds: 30
`;
  return { [`${name}.yaml`]: definition, [`src/${handler.file}`]: handler.code };
}

/** `hks-func init <name> --runtime python|node [--dir <dir>]`. */
export function registerInit(program: Command, io: CliIo): void {
  program
    .command('init')
    .description(
      'Scaffold a Function: <dir>/<name>.yaml (kind Function, source: ./src) and a handler in <dir>/src (main.py or index.js). Refuses to overwrite.',
    )
    .argument('<name>', 'function name (DNS-1123 label, at most 52 characters)')
    .addOption(
      new Option('--runtime <runtime>', 'language of the handler')
        .choices(Object.keys(INIT_RUNTIMES))
        .makeOptionMandatory(),
    )
    .option('--dir <dir>', 'folder to write into (default: ./<name>)')
    .action(
      action<{ runtime: keyof typeof INIT_RUNTIMES; dir?: string }, [string]>(
        io,
        async (ctx, name) => {
          const project = ctx.project();
          const runtime = INIT_RUNTIMES[ctx.options.runtime];
          const dir = resolve(io.cwd, ctx.options.dir ?? name);
          const files = scaffoldFiles(name, project, runtime);
          checkScaffold(name, project, runtime, files);
          const existing = Object.keys(files)
            .map((file) => join(dir, file))
            .filter((path) => existsSync(path));
          if (existing.length > 0) {
            throw CliError.usage(
              `given ${existing.map((p) => relative(io.cwd, p) || p).join(', ')}, which already exist${existing.length === 1 ? 's' : ''}; expected a folder without them (init never overwrites: use another --dir or name)`,
            );
          }
          for (const [file, content] of Object.entries(files)) {
            mkdirSync(dirname(join(dir, file)), { recursive: true });
            writeFileSync(join(dir, file), content, { flag: 'wx' });
          }
          const shown = relative(io.cwd, dir) || '.';
          ctx.result(
            () =>
              [
                `Created ${Object.keys(files)
                  .map((f) => join(shown, f))
                  .join(' and ')}`,
                `Next: hks-func run-local ${shown}   # try it here`,
                `      hks-func deploy ${shown}`,
              ].join('\n'),
            { name, project, runtime, dir, files: Object.keys(files).map((f) => join(dir, f)) },
          );
        },
      ),
    );
}

/** The scaffold must pass the project's checks (name, project) before anything is written. */
function checkScaffold(
  name: string,
  project: string,
  runtime: SourceRuntimeName,
  files: Record<string, string>,
): void {
  const source = Object.fromEntries(
    Object.entries(files)
      .filter(([file]) => file.startsWith('src/'))
      .map(([file, content]) => [file.slice('src/'.length), content]),
  );
  try {
    checkDefinitions([
      {
        document: {
          apiVersion: API_VERSION,
          kind: 'Function',
          metadata: { name, project },
          spec: { runtime, source: './src' },
        },
        source: { file: `${name}.yaml`, document: 1 },
        readSource: () => ({ ok: true, files: source }),
      },
    ]);
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    const fields: Record<string, string> = {
      'metadata.name': '<name>',
      'metadata.project': 'the project (--project, HKS_PROJECT or the config file)',
    };
    throw CliError.usage(
      error.problems
        .map((p) => (fields[p.path] ? `${fields[p.path]}: ${p.message}` : formatProblem(p)))
        .join('\n'),
    );
  }
}
