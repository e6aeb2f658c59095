/**
 * `npm run schema` — writes the JSON Schema of an application definition document to
 * `schema/definition.schema.json` (`--check`: exit 1 if the file is out of date).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { definitionJsonSchema } from '../constructs';
import { packagePath } from '../constructs/package-dir';

const FILE = packagePath('schema', 'definition.schema.json');

/** The schema file's content. */
export function renderSchema(): string {
  return `${JSON.stringify({ ...definitionJsonSchema(), title: 'HKS application definition' }, null, 2)}\n`;
}

if (require.main === module) {
  const content = renderSchema();
  if (process.argv.includes('--check')) {
    const current = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '';
    if (current !== content) {
      process.stderr.write(`${FILE} is out of date; run npm run schema\n`);
      process.exitCode = 1;
    }
  } else {
    mkdirSync(dirname(FILE), { recursive: true });
    writeFileSync(FILE, content);
    process.stdout.write(`Wrote ${FILE}\n`);
  }
}
