/**
 * `npm run schema` — writes what comes from the field declarations of the definition schema:
 * `schema/definition.schema.json` (the JSON Schema of a definition document), the construct
 * props and `*_DEFAULTS` objects in `constructs/generated/`, and the defaults table of
 * docs/definitions.md. `--check`: writes nothing, exit 1 naming each file that is out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { packagePath } from '../constructs/package-dir';
import { generatedFiles, SCHEMA_COMMAND, staleFiles } from './generated-files';

export { renderSchema } from './generated-files';

function main(): void {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    for (const path of stale)
      process.stderr.write(`${path} is out of date; run ${SCHEMA_COMMAND}\n`);
    if (stale.length > 0) process.exitCode = 1;
    return;
  }
  for (const { path, content } of generatedFiles()) {
    const file = packagePath(...path.split('/'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    process.stdout.write(`Wrote ${path}\n`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    // A field declared without its documentation, say: the message names it.
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
