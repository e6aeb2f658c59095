/** Where a definition came from: a file and its document number (1 = the first). */
export interface DefinitionSource {
  /** File path as the user gave it, or a label such as `request body`. */
  readonly file: string;
  /** 1-based index of the YAML document within the file. */
  readonly document: number;
}

/** One problem with one field of one definition. */
export interface DefinitionProblem {
  readonly source: DefinitionSource;
  /** Field path such as `spec.envFrom[0].configMap`; empty for the document itself. */
  readonly path: string;
  /** What was given and what is expected. */
  readonly message: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
}

/** Renders a path of keys and indices as `spec.envFrom[0].configMap`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key)))
      text += text ? `.${String(key)}` : String(key);
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
}

/** `file:document: field.path: message (line N)`. */
export function formatProblem(problem: DefinitionProblem): string {
  const where = `${problem.source.file}:${problem.source.document}`;
  const field = problem.path ? `${problem.path}: ` : '';
  const line = problem.line ? ` (line ${problem.line})` : '';
  return `${where}: ${field}${problem.message}${line}`;
}

/** Thrown when definitions are invalid; carries every problem found. */
export class DefinitionError extends Error {
  constructor(public readonly problems: readonly DefinitionProblem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in application definitions:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'DefinitionError';
  }
}
