/**
 * `npm run knative:import -- [<crd-folder>]`
 *
 * Regenerates the typed Knative Serving classes in `knative/imports/serving.knative.dev.ts`
 * from the CRD files of a folder, offline. The default folder is
 * `$HKS_KNATIVE_DIR/serving/config/core/300-resources` (`HKS_KNATIVE_DIR` defaults to
 * `../shared/knative/v1.13.0` from the repository root); the CRD files are read, never copied in.
 *
 * Only the public `serving.knative.dev` group is imported. Its CRDs go into one multi-document
 * file because `cdk8s import` of two CRDs of the same group into separate files silently
 * overwrites the first, and the upstream files start without `---`, so they are joined with a
 * `---` line between them (otherwise YAML merges them and only the last CRD is generated).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The repository root. */
const ROOT = resolve(__dirname, '..');
/** The API group whose CRDs become classes. */
export const SERVING_GROUP = 'serving.knative.dev';

/** The Knative release folder: `HKS_KNATIVE_DIR`, else `../shared/knative/v1.13.0`. */
export function knativeReleaseDir(): string {
  return resolve(ROOT, process.env.HKS_KNATIVE_DIR ?? join('..', 'shared', 'knative', 'v1.13.0'));
}

/**
 * Joins the CRDs of one API group found in a folder's YAML files into one multi-document
 * YAML text, sorted by file name.
 */
export function joinCrds(folder: string, group = SERVING_GROUP): { text: string; names: string[] } {
  const texts: string[] = [];
  const names: string[] = [];
  const files = readdirSync(folder)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(folder, file), 'utf8'))) {
      const crd = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { group?: string };
      } | null;
      if (crd?.kind !== 'CustomResourceDefinition' || crd.spec?.group !== group) continue;
      texts.push(doc.toString());
      names.push(crd.metadata?.name ?? file);
    }
  }
  return { text: texts.join('---\n'), names };
}

function main(args: readonly string[]): number {
  const folder = resolve(
    args[0] ?? join(knativeReleaseDir(), 'serving', 'config', 'core', '300-resources'),
  );
  const { text, names } = joinCrds(folder);
  if (names.length === 0) {
    process.stderr.write(`No ${SERVING_GROUP} CustomResourceDefinitions found in ${folder}\n`);
    return 1;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'hks-knative-'));
  try {
    const file = join(scratch, `${SERVING_GROUP}.yaml`);
    writeFileSync(file, text);
    const result = spawnSync(
      'npx',
      [
        'cdk8s',
        'import',
        file,
        '--output',
        join(ROOT, 'knative', 'imports'),
        '--language',
        'typescript',
        '--no-check-upgrade',
        '--no-save',
      ],
      { cwd: ROOT, stdio: 'inherit' },
    );
    if (result.status !== 0) return result.status ?? 1;
    process.stdout.write(`Imported ${names.join(', ')} from ${folder}\n`);
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
