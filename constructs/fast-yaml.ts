import { loadAll, Schema, State, Type } from 'js-yaml';
import { isScalar, ScalarTag, Schema as YamlSchema } from 'yaml';

/**
 * A fast reader of plain YAML documents. The `yaml` package is the parser of record (its errors,
 * line numbers and YAML 1.2 core schema are what every door reports), but it takes about 0.6 s
 * of CPU to read 1000 definitions in a fresh process, most of a whole synth's extra time over
 * plain cdk8s; js-yaml reads them in about a fifth of that. js-yaml is only trusted where it is
 * sure to give what `yaml` gives (`parseAllDocuments(text, { uniqueKeys: true })`, then each
 * document's `toJS()`): plain scalars are resolved by `yaml`'s own core schema tags, and every
 * text where the two could differ is left to `yaml`: directives, tags, anchors and aliases,
 * explicit (`?`) and collection keys, content after `---` on its line, comments glued to a
 * token, tabs or blanks-only lines, quoted scalars, plain scalars and flow collections over
 * several lines, empty documents, keys `null` and `__proto__`, and every text js-yaml refuses.
 * Checked against the YAML test suite (yaml/yaml-test-suite, all 406 cases): wherever this
 * reader answers, `yaml` reads the same values and reports no error.
 */

/** Tags of the types below, so that a node resolved by them is told from an explicit tag. */
const OWN_TAG = 'tag:hks.hexabase.io,fast-yaml:';

/** The implicit scalar tags of `yaml`'s core schema as js-yaml types, in `yaml`'s order. */
const CORE_SCALARS = new YamlSchema({}).tags
  .filter(
    (tag): tag is ScalarTag => tag.default === true && tag.test !== undefined && !tag.collection,
  )
  .map(
    (tag, index) =>
      new Type(`${OWN_TAG}${index}`, {
        kind: 'scalar',
        resolve: (data: unknown) => typeof data === 'string' && (tag.test as RegExp).test(data),
        construct: (data: string) => {
          const resolved: unknown = tag.resolve(data, refuse, {});
          return isScalar(resolved) ? resolved.value : resolved;
        },
      }),
  );

/** Only those types: an explicit tag (`!!str`, `!x`) is unknown to js-yaml, which refuses it. */
const SCHEMA = new Schema({ implicit: CORE_SCALARS });

/** Texts left to `yaml`, found before parsing. */
const LEFT_TO_YAML = [
  /^%/m, // a directive (%YAML 1.1 changes the schema)
  /^(?:---|\.\.\.)(?![ \t]*(?:#.*)?\r?$)/m, // content on a document marker's line
  /["'\]},]#/, // a comment glued to a token
  /(?:^|[\s[{,])\?(?:[ \t]|\r?$)/m, // an explicit key
  /[\]}][ \t]*:/, // a flow collection as a key
  /^[ \t]*\t/m, // a tab in indentation
  /^[ \t]+\r?$/m, // a line of blanks only
];

function refuse(message: string): never {
  throw new Error(message);
}

/** The first content character at or after `pos`, past blanks, line breaks and comments. */
function contentAt(input: string, pos: number, line: number): { char: string; line: number } {
  for (;;) {
    const char = input[pos];
    if (char === ' ' || char === '\t' || char === '\r') pos++;
    else if (char === '\n') {
      pos++;
      line++;
    } else if (char === '#') {
      while (pos < input.length && input[pos] !== '\n') pos++;
    } else return { char, line };
  }
}

/** js-yaml's parser state, as much of it as its listener option hands over. */
interface ParserState {
  readonly input: string;
  readonly position: number;
  readonly line: number;
  readonly kind: string | null;
  readonly tag: string | null;
  readonly anchor: string | null;
}

/** Whether keys are plain: `yaml` and js-yaml name a null key differently ('' and 'null'). */
function plainKeys(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(plainKeys);
  if (value === null || typeof value !== 'object') return true;
  return Object.entries(value).every(
    ([key, inner]) => key !== 'null' && key !== '__proto__' && plainKeys(inner),
  );
}

/**
 * The documents of a YAML text, exactly as `yaml` reads them, when this reader is sure of them.
 * @returns the documents' values, or `undefined`: read the text with `yaml` instead
 */
export function readPlainYaml(text: string): unknown[] | undefined {
  if (LEFT_TO_YAML.some((pattern) => pattern.test(text))) return undefined;
  const documents: unknown[] = [];
  const opened: Array<readonly [number, number]> = [];
  let unsure = false;
  const listener = (event: 'open' | 'close', parserState: State) => {
    const state = parserState as unknown as ParserState;
    if (event === 'open') {
      opened.push([state.position, state.line]);
      return;
    }
    const [position, line] = opened.pop() ?? [0, 0];
    if (state.anchor !== null) unsure = true;
    if (state.tag !== null && state.tag !== '?' && !state.tag.startsWith(OWN_TAG)) unsure = true;
    if (state.line === line) return;
    // Over several lines: only block collections and block scalars are left to this reader.
    const first = contentAt(state.input, position, line);
    if (state.line > first.line) {
      const flow = first.char === '[' || first.char === '{';
      const block = first.char === '|' || first.char === '>';
      if (state.kind === 'scalar' ? !block : flow) unsure = true;
    }
  };
  try {
    loadAll(text, (document: unknown) => documents.push(document), { schema: SCHEMA, listener });
  } catch {
    return undefined;
  }
  if (unsure) return undefined;
  if (documents.some((document) => document === null || document === undefined)) return undefined;
  return documents.every(plainKeys) ? documents : undefined;
}
