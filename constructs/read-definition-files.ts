import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isNode, LineCounter, parseAllDocuments } from 'yaml';
import { DefinitionProblem } from './definition-problem';
import { DefinitionInput } from './check-definitions';
import { readFunctionSource } from './read-function-source';

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
): { inputs: DefinitionInput[]; problems: DefinitionProblem[] } {
  const inputs: DefinitionInput[] = [];
  const problems: DefinitionProblem[] = [];
  for (const file of files) {
    const label = relative(baseDir, file) || file;
    const lineCounter = new LineCounter();
    const documents = parseAllDocuments(readFileSync(file, 'utf8'), {
      lineCounter,
      uniqueKeys: true,
    });
    if (!Array.isArray(documents)) continue; // an empty file
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
        readSource: (path) => readFunctionSource(file, path, label),
        locate: (path) => {
          // The deepest node that exists along the path: a missing field points at its parent.
          for (let depth = path.length; depth >= 0; depth--) {
            const node = doc.getIn(path.slice(0, depth) as unknown[], true);
            if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
          }
          return undefined;
        },
      });
    });
  }
  return { inputs, problems };
}
