/**
 * The fast YAML reader answers only where it reads exactly what `yaml` reads (the parser of
 * record), and leaves every doubtful text to `yaml`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { readPlainYaml } from '../constructs/fast-yaml';
import { definitions } from '../bench/synth-workload';

/** What `yaml` reads: the documents' values, or 'error' when it reports any. */
function yamlReads(text: string): unknown[] | 'error' {
  const documents = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(documents)) return [];
  if (documents.some((doc) => doc.errors.length > 0)) return 'error';
  return documents.map((doc) => doc.toJS() as unknown);
}

test('reads apps/ and the bench workload exactly as yaml does', () => {
  const apps = join(__dirname, '..', 'apps');
  const texts = [
    ...readdirSync(apps)
      .filter((name) => name.endsWith('.yaml'))
      .map((name) => readFileSync(join(apps, name), 'utf8')),
    definitions()
      .slice(0, 100)
      .map((d) => stringify(d))
      .join('---\n'),
  ];
  for (const text of texts) {
    const fast = readPlainYaml(text);
    expect(fast).toBeDefined();
    expect(fast).toStrictEqual(yamlReads(text));
  }
});

test.each([
  [
    'numbers, booleans and nulls of the core schema',
    'a: 0o17\nb: 0x1F\nc: 1e3\nd: .inf\ne: True\nf: ~\ng:\n',
  ],
  [
    'what YAML 1.1 would resolve stays a string',
    'a: yes\nb: 0b11\nc: 1_000\nd: 2024-01-01\ne: 12:30\nf: 017\n',
  ],
  ['quoted and block scalars', "a: \"x\\ty\"\nb: 'it''s'\nc: |\n  x\n  y\nd: >-\n  x\n\n  y\n"],
  ['flow collections on one line', 'a: {b: 1, c: [1, 2]}\nd: [x: 1]\n'],
  ['several documents, CRLF line ends', 'a: 1\r\n---\r\nb: "x"\r\n'],
])('reads %s as yaml does', (_name, text) => {
  expect(readPlainYaml(text)).toStrictEqual(yamlReads(text));
});

test.each([
  ['a YAML 1.1 directive', '%YAML 1.1\n---\na: yes\n'],
  ['a tag', 'a: !!str 1\n'],
  ['an anchor and an alias', 'a: &x 1\nb: *x\n'],
  ['a null key', 'null: 1\n'],
  ['an explicit key', '? a\n: 1\n'],
  ['a collection as a key', '[a]: 1\n'],
  ['content on the --- line', '--- a: 1\n'],
  ['a comment glued to a quoted scalar', 'a: "x"#c\n'],
  ['a quoted scalar over several lines', 'a: "x\nb"\n'],
  ['a flow collection over several lines', 'a: [x,\ny]\n'],
  ['a tab in indentation', 'a: |\n\t\nb: 1\n'],
  ['an empty document', 'a: 1\n---\n# nothing\n'],
  ['duplicate keys', 'a: 1\na: 2\n'],
  ['invalid YAML', 'a: [1, 2\n'],
])('leaves %s to yaml', (_name, text) => {
  expect(readPlainYaml(text)).toBeUndefined();
});
