import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Document, isNode, LineCounter, parseAllDocuments } from 'yaml';
import { DefinitionProblem } from './definition-problem';
import { DefinitionInput } from './check-definitions';
import { readFunctionSource } from './read-function-source';
import { readPlainYaml } from './fast-yaml';

const YAML_FILE = /\.ya?ml$/;

/**
 * Lists the YAML files of a folder (recursively, sorted for deterministic output) or takes a
 * single file as it is.
 */
export function listDefinitionFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, encoding: 'utf8' })
    .filter((name) => YAML_FILE.test(name))
    .map((name) => join(path, name))
    .filter((file) => statSync(file).isFile())
    .sort();
}

/** How definition files are read. */
export interface ReadDefinitionFilesOptions {
  /**
   * Read each file with the fast reader where it is sure to read what `yaml` reads
   * (fast-yaml.ts), `yaml` otherwise. Such a file's documents find their lines (`locate`) by
   * reading it with `yaml` when first asked.
   * @default false
   */
  readonly fast?: boolean;
}

/**
 * Reads definition documents from YAML files (several documents per file allowed; empty
 * documents are skipped but keep their number).
 *
 * @param files the files to read
 * @param baseDir folder that file names in messages are relative to
 * @default baseDir - the current working directory
 * @returns the documents, and the YAML syntax problems of every file
 */
export function readDefinitionFiles(
  files: readonly string[],
  baseDir = process.cwd(),
  options: ReadDefinitionFilesOptions = {},
): { inputs: DefinitionInput[]; problems: DefinitionProblem[] } {
  const inputs: DefinitionInput[] = [];
  const problems: DefinitionProblem[] = [];
  for (const file of files) {
    const label = relative(baseDir, file) || file;
    const text = readFileSync(file, 'utf8');
    const readSource = (path: string) => readFunctionSource(file, path, label);
    const plain = options.fast ? readPlainYaml(text) : undefined;
    if (plain) {
      let parsed: ParsedFile | undefined;
      plain.forEach((document, index) => {
        const locate = (path: readonly PropertyKey[]) => {
          parsed ??= parseFile(text);
          const doc = parsed.documents[index];
          return doc && locateIn(doc, parsed.lineCounter, path);
        };
        inputs.push({ document, source: { file: label, document: index + 1 }, readSource, locate });
      });
      continue;
    }
    const { documents, lineCounter } = parseFile(text);
    documents.forEach((doc, index) => {
      const source = { file: label, document: index + 1 };
      for (const error of doc.errors) {
        const line = lineCounter.linePos(error.pos[0]).line;
        problems.push({ source, path: '', message: `YAML: ${error.message.split('\n')[0]}`, line });
      }
      if (doc.errors.length > 0) return;
      const document: unknown = doc.toJS();
      if (document === null || document === undefined) return; // an empty document
      inputs.push({
        document,
        source,
        readSource,
        locate: (path) => locateIn(doc, lineCounter, path),
      });
    });
  }
  return { inputs, problems };
}

/** A file's documents as `yaml` reads them, with the counter that turns offsets into lines. */
interface ParsedFile {
  readonly documents: readonly Document.Parsed[];
  readonly lineCounter: LineCounter;
}

function parseFile(text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
  // An empty file is an empty stream, not a list.
  return { documents: Array.isArray(documents) ? documents : [], lineCounter };
}

/** The line of the deepest node that exists along the path: a missing field points at its parent. */
function locateIn(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}
