#!/usr/bin/env -S npx tsx
/**
 * `npm run synth -- [--apps <dir>] [--out <dir>] [--check] [--namespace-prefix <prefix>]
 *   [--settings <file>]`
 *
 * Synthesizes the application definitions of a folder into one manifest file per project.
 * Platform settings (quota, limits, runtime images; docs/platform-settings.md) come only from
 * `--settings`: no file is picked up implicitly, so the output never depends on a stray file.
 * Exit codes: 0 done (or up to date), 1 invalid definitions or settings or out-of-date output,
 * 2 bad usage.
 */
import { Command, Option } from 'commander';
import { parseArguments } from './parse-arguments';
import { relative } from 'node:path';
import {
  chartOptionsFromSettings,
  checkManifests,
  checkNamespacePrefix,
  DefinitionError,
  loadDefinitions,
  loadPlatformSettings,
  PlatformSettingsError,
  ProjectNamespaces,
  writeManifests,
} from '../constructs';

interface SynthOptions {
  readonly apps: string;
  readonly out: string;
  readonly check: boolean;
  readonly namespacePrefix: string;
  readonly settings?: string;
}

function run(options: SynthOptions): number {
  const prefixProblem = checkNamespacePrefix(options.namespacePrefix);
  if (prefixProblem) {
    process.stderr.write(`--namespace-prefix: ${prefixProblem}\n`);
    return 2;
  }
  const settings = options.settings === undefined ? {} : loadPlatformSettings(options.settings);
  const definitions = loadDefinitions(options.apps).map((c) => c.definition);
  const namespaces = new ProjectNamespaces(options.namespacePrefix);
  const buildOptions = {
    ...chartOptionsFromSettings(settings),
    namespaceForProject: (project: string) => namespaces.of(project),
  };
  const out = relative(process.cwd(), options.out) || '.';
  if (options.check) {
    const drift = checkManifests(definitions, options.out, buildOptions);
    const lines = [
      ...drift.changed.map((f) => `  changed: ${f}`),
      ...drift.missing.map((f) => `  missing: ${f}`),
      ...drift.stale.map((f) => `  stale:   ${f} (its project has no definitions any more)`),
    ];
    if (lines.length === 0) {
      process.stdout.write(`${out}/ is up to date with ${options.apps}\n`);
      return 0;
    }
    process.stderr.write(
      `${out}/ is out of date with ${options.apps}; run npm run synth and commit:\n${lines.join('\n')}\n`,
    );
    return 1;
  }
  const files = writeManifests(definitions, options.out, buildOptions);
  const projects = files.length;
  process.stdout.write(
    `Synthesized ${definitions.length} application${definitions.length === 1 ? '' : 's'} of ${projects} project${projects === 1 ? '' : 's'} into ${out}/: ${files.join(', ')}\n`,
  );
  return 0;
}

function main(argv: readonly string[]): number {
  const program = new Command('synth')
    .description(
      'Synthesize application definitions into Kubernetes manifests, one file per project.',
    )
    .option('--apps <dir>', 'folder (or file) of application definitions', 'apps')
    .addOption(
      new Option('--out <dir>', 'output folder').default(
        process.env.CDK8S_OUTDIR || 'dist',
        'dist, or $CDK8S_OUTDIR under cdk8s synth',
      ),
    )
    .option('--check', 'exit 1 if the output folder is out of date, writing nothing', false)
    .option('--namespace-prefix <prefix>', 'namespace of a project = prefix + project name', '')
    .option('--settings <file>', 'platform settings (YAML or JSON): quota, limits, runtime images');
  const usage = parseArguments(program, argv);
  if (usage !== undefined) return usage;
  try {
    return run(program.opts<SynthOptions>());
  } catch (error) {
    if (error instanceof DefinitionError || error instanceof PlatformSettingsError) {
      process.stderr.write(`${error.message}\nNothing was written.\n`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = main(process.argv.slice(2));
