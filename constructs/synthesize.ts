import { App, YamlOutputType } from 'cdk8s';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  mkdirSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationDefinition } from './definition-schema';
import { buildProjectCharts, BuildProjectChartsOptions } from './build-project-charts';

/** Extension of synthesized files; only files with it are ever replaced or removed. */
export const MANIFEST_EXTENSION = '.k8s.yaml';

/**
 * Synthesizes definitions into `outdir`: one `<project>.k8s.yaml` per project.
 * @returns the file names written
 */
export function synthesizeDefinitions(
  definitions: readonly ApplicationDefinition[],
  outdir: string,
  options: BuildProjectChartsOptions = {},
): string[] {
  const app = new App({
    outdir,
    outputFileExtension: MANIFEST_EXTENSION,
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  buildProjectCharts(app, definitions, options);
  app.synth();
  return manifestFiles(outdir);
}

/** The synthesized files of a folder, sorted. */
export function manifestFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(MANIFEST_EXTENSION))
    .sort();
}

/** Differences between a folder's manifests and what the definitions produce. */
export interface ManifestDrift {
  readonly changed: string[];
  readonly missing: string[];
  readonly stale: string[];
}

/**
 * Synthesizes into a scratch folder and compares with `outdir`, changing nothing.
 * @returns the drift; all lists empty when `outdir` is up to date
 */
export function checkManifests(
  definitions: readonly ApplicationDefinition[],
  outdir: string,
  options: BuildProjectChartsOptions = {},
): ManifestDrift {
  const scratch = mkdtempSync(join(tmpdir(), 'hks-synth-'));
  try {
    const fresh = synthesizeDefinitions(definitions, scratch, options);
    const current = manifestFiles(outdir);
    return {
      changed: fresh.filter(
        (f) =>
          current.includes(f) &&
          readFileSync(join(scratch, f), 'utf8') !== readFileSync(join(outdir, f), 'utf8'),
      ),
      missing: fresh.filter((f) => !current.includes(f)),
      stale: current.filter((f) => !fresh.includes(f)),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Synthesizes into a scratch folder first, then replaces the manifests of `outdir`, removing
 * those of projects that no longer exist. Other files in `outdir` are left alone.
 * @returns the file names written
 */
export function writeManifests(
  definitions: readonly ApplicationDefinition[],
  outdir: string,
  options: BuildProjectChartsOptions = {},
): string[] {
  mkdirSync(outdir, { recursive: true });
  const scratch = mkdtempSync(join(outdir, '.hks-synth-'));
  try {
    const fresh = synthesizeDefinitions(definitions, scratch, options);
    for (const stale of manifestFiles(outdir).filter((f) => !fresh.includes(f)))
      rmSync(join(outdir, stale));
    for (const file of fresh) renameSync(join(scratch, file), join(outdir, file));
    return fresh;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
