import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULTS_FILE,
  DEFINITIONS_DOC,
  generatedFiles,
  JSON_SCHEMA_FILE,
  PROPS_FILE,
  renderDefaultsTable,
  SCHEMA_COMMAND,
  staleFiles,
} from '../cli/generated-files';
import { kindFields, namedObjects } from '../cli/schema-declarations';
import { defaultWords } from '../constructs/schema-field';

/**
 * What `npm run schema` writes from the schema's field declarations — the JSON Schema, the
 * construct props, the `*_DEFAULTS` objects and the defaults table — is committed; this fails,
 * naming the command, when a committed file differs from what the generator writes now.
 */
test('every generated file is as npm run schema writes it now', () => {
  const stale = staleFiles();
  expect(stale.map((path) => `${path} is out of date: run ${SCHEMA_COMMAND}`)).toEqual([]);
});

test('the generator writes the props, the defaults, the JSON Schema and the docs table', () => {
  const paths = generatedFiles().map((file) => file.path);
  expect(paths.sort()).toEqual(
    [DEFAULTS_FILE, DEFINITIONS_DOC, JSON_SCHEMA_FILE, PROPS_FILE].sort(),
  );
});

test('every optional prop of the generated interfaces has its @default', () => {
  const props = readFileSync(join(__dirname, '..', PROPS_FILE), 'utf8');
  const members = [...props.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly (\w+)(\??):/g)];
  const optional = members.filter(([, , , mark]) => mark === '?');
  const declared = namedObjects().flatMap((o) => o.fields.filter((f) => f.optional));
  expect(optional).toHaveLength(declared.length);
  expect(
    optional.filter(([, comment]) => !comment.includes('@default')).map(([, , name]) => name),
  ).toEqual([]);
});

test('the defaults table has a row for each field whose default is a value, with that value', () => {
  const table = renderDefaultsTable();
  const valued = kindFields().filter((f) => f.doc.default !== undefined);
  expect(valued.length).toBeGreaterThan(20);
  const missing = valued.filter(
    (f) => !table.includes(`| \`${f.path}\` |`) || !table.includes(`\`${defaultWords(f.doc)}\``),
  );
  expect(missing.map((f) => `${f.kind} ${f.path}`)).toEqual([]);
});
