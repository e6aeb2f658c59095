import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { TextDecoder } from 'node:util';
import { describeValue } from './field-rules';
import { checkSourcePath, MAX_FUNCTION_SOURCE_BYTES } from './function-rules';

/** A Function's `source` read from disk: its files by relative path, or why it could not be. */
export type FunctionSourceRead =
  | { readonly ok: true; readonly files: Record<string, string> }
  | { readonly ok: false; readonly message: string };

/** Folders never part of a function's source. */
const SKIPPED = new Set(['__pycache__', 'node_modules']);
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the `source` of a Function, relative to the definition file that names it. A file
 * becomes one file of that name; a folder all of its files (recursively, by relative path),
 * except hidden ones, `__pycache__` and `node_modules`. Files must be UTF-8 text. Reading
 * stops once the size limit is passed, so a wrong path cannot read a whole disk.
 *
 * @param definitionFile the file that names the source
 * @param source the `source` field as written
 * @param label the definition file as messages name it
 * @default label - definitionFile
 */
export function readFunctionSource(
  definitionFile: string,
  source: string,
  label = definitionFile,
): FunctionSourceRead {
  const path = resolve(dirname(definitionFile), source);
  const where = `relative to ${label}`;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    return fail(
      `given ${describeValue(source)} (${relative(process.cwd(), path) || path} does not exist), expected a file or folder ${where}`,
    );
  }
  const paths = isDirectory ? listFiles(path) : [path];
  if (paths.length === 0) {
    return fail(`given ${describeValue(source)} (an empty folder), expected source files in it`);
  }
  const root = isDirectory ? path : dirname(path);
  const files: Record<string, string> = {};
  let bytes = 0;
  for (const file of paths) {
    const name = relative(root, file).split(sep).join('/');
    const nameProblem = checkSourcePath(name);
    if (nameProblem) return fail(`file ${name}: ${nameProblem}`);
    const content = readFileSync(file);
    bytes += content.length;
    if (bytes > MAX_FUNCTION_SOURCE_BYTES) {
      return fail(
        `given ${describeValue(source)} (more than ${MAX_FUNCTION_SOURCE_BYTES} bytes of files), expected at most ${MAX_FUNCTION_SOURCE_BYTES} bytes (source travels in a ConfigMap, limited to 1 MiB); build an image and use runtime: image for larger code`,
      );
    }
    try {
      files[name] = UTF8.decode(content);
    } catch {
      return fail(
        `file ${name} is not UTF-8 text, expected text source files (use runtime: image for binary files)`,
      );
    }
  }
  return { ok: true, files };
}

function fail(message: string): FunctionSourceRead {
  return { ok: false, message };
}

/** Files of a folder, recursively, sorted, without hidden files and skipped folders. */
function listFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue;
    const path = resolve(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(path));
    else if (entry.isFile()) found.push(path);
  }
  return found.sort();
}
