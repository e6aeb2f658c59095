import { z } from 'zod';
import { formatPath } from '../constructs';
import { Problem } from './problem';

/** A file's content: UTF-8 text, or any bytes as base64. Exactly one of the two. */
export type FileContent = { readonly text: string } | { readonly base64: string };

/** Files by relative path (`data/in.csv`). */
export type ExecutionFiles = Readonly<Record<string, FileContent>>;

/** Why an output file is not in the result. */
export type OmissionReason =
  'file-limit' | 'total-limit' | 'count-limit' | 'symlink' | 'not-a-file' | 'invalid-path';

/** An output file left out of the result, and why. */
export interface OmittedFile {
  readonly path: string;
  /** Its size, when it is a file. */
  readonly bytes?: number;
  readonly reason: OmissionReason;
}

/** Caps on the files of one execution, applied to its input files and to its output files apart. */
export interface FileLimits {
  /** Most files. @default 100 */
  readonly maxFiles: number;
  /** Bytes of one file at most (decoded). @default 1048576 */
  readonly maxFileBytes: number;
  /** Bytes of all files together at most (decoded). @default 1048576 */
  readonly maxTotalBytes: number;
}

/**
 * The defaults of {@link FileLimits}: 1 MiB in all fits the API's 2 MiB body limit once base64
 * (4/3) and the code are added, and leaves the 6 MiB function response room for the rest.
 */
export const DEFAULT_FILE_LIMITS: FileLimits = {
  maxFiles: 100,
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 1024 * 1024,
};

/** Folder of the input files, in the invocation's working directory. */
export const INPUT_FOLDER = 'input';
/** Folder the code writes its output files to, in the invocation's working directory. */
export const OUTPUT_FOLDER = 'output';

const MAX_PATH_CHARS = 1024;
const MAX_SEGMENT_CHARS = 255;
const EXPECTED_PATH =
  'a relative path of names separated by "/" (no "..", ".", empty names, leading "/", backslash or control characters; at most 1024 characters)';

/** Why `path` is not a safe relative file path; undefined when it is. */
export function pathProblem(path: string): string | undefined {
  const given = `given ${JSON.stringify(path.length > 100 ? `${path.slice(0, 100)}...` : path)}`;
  if (path === '') return `given an empty path, expected ${EXPECTED_PATH}`;
  if (path.length > MAX_PATH_CHARS)
    return `${given} (${path.length} characters), expected ${EXPECTED_PATH}`;
  // Control characters and backslashes (a separator elsewhere) have no place in a file name.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return `${given}, expected ${EXPECTED_PATH}`;
  if (path.startsWith('/')) return `${given}, an absolute path; expected ${EXPECTED_PATH}`;
  const bad = path
    .split('/')
    .find(
      (segment) =>
        segment === '' || segment === '.' || segment === '..' || segment.length > MAX_SEGMENT_CHARS,
    );
  if (bad !== undefined) return `${given}, expected ${EXPECTED_PATH}`;
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * One file's content in a request: `{text}` or `{base64}`. Typed as the union its refinement
 * makes of it (zod types the two optional fields alone).
 */
const fileContent = z
  .strictObject({
    text: z.string().optional().meta({ description: 'The content as UTF-8 text' }),
    base64: z
      .string()
      .optional()
      .meta({ description: 'The content as base64 (any bytes)', contentEncoding: 'base64' }),
  })
  .superRefine((content, ctx) => {
    if ((content.text === undefined) === (content.base64 === undefined)) {
      ctx.addIssue({
        code: 'custom',
        input: content,
        message: `given ${content.text === undefined ? 'neither text nor base64' : 'both text and base64'}, expected exactly one of them`,
      });
    } else if (
      content.base64 !== undefined &&
      (content.base64.length % 4 !== 0 || !BASE64.test(content.base64))
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['base64'],
        input: content.base64,
        message: `given ${content.base64.length} characters that are not base64, expected base64 (A-Z, a-z, 0-9, +, / and = padding, a multiple of 4 characters)`,
      });
    }
  })
  .meta({ description: 'Exactly one of text and base64' }) as unknown as z.ZodType<FileContent>;

/** Files by relative path, as the execute body takes them (`inputFiles`) and the result gives them. */
export const executionFilesSchema = z.record(z.string(), fileContent).superRefine((files, ctx) => {
  for (const path of Object.keys(files)) {
    const problem = pathProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', path: [path], input: path, message: problem });
  }
});

/** The bytes of a file's content. */
export function contentBytes(content: FileContent): Buffer {
  return 'text' in content
    ? Buffer.from(content.text, 'utf8')
    : Buffer.from(content.base64, 'base64');
}

/**
 * Refuses input files over the limits, before anything is deployed.
 * @throws Problem 400 naming `field` (or the file, for one over the per-file cap)
 */
export function checkInputFiles(
  files: ExecutionFiles,
  limits: FileLimits,
  field = 'inputFiles',
): void {
  const paths = Object.keys(files);
  const refuse = (path: string, message: string): never => {
    throw new Problem(400, 'Invalid request body', `body.${path}: ${message}`, [{ path, message }]);
  };
  if (paths.length > limits.maxFiles) {
    refuse(
      field,
      `given ${paths.length} files, expected at most ${limits.maxFiles} (HKS_EXECUTE_FILES_MAX_COUNT)`,
    );
  }
  let total = 0;
  for (const path of paths) {
    const bytes = contentBytes(files[path]).length;
    if (bytes > limits.maxFileBytes) {
      refuse(
        formatPath([field, path]),
        `given ${bytes} bytes, expected at most ${limits.maxFileBytes} bytes per file (HKS_EXECUTE_FILE_LIMIT_BYTES)`,
      );
    }
    total += bytes;
  }
  if (total > limits.maxTotalBytes) {
    refuse(
      field,
      `given ${total} bytes in ${paths.length} files, expected at most ${limits.maxTotalBytes} bytes in all (HKS_EXECUTE_FILES_LIMIT_BYTES)`,
    );
  }
}

/** What a runtime reported of the output folder, before the API's own check. */
export interface ReportedOutput {
  readonly files: Readonly<Record<string, unknown>>;
  readonly omitted: readonly unknown[];
}

/**
 * The output files a runtime returned, held to the same rules as on the way in: safe paths,
 * content `{text}` or `{base64}`, the caps (in path order). The runtime applies them too; the
 * API does not rely on that, since the answer passes through the code's own process.
 */
export function acceptOutputFiles(
  reported: ReportedOutput,
  limits: FileLimits,
): { files: Record<string, FileContent>; omitted: OmittedFile[] } {
  const files: Record<string, FileContent> = {};
  const omitted: OmittedFile[] = reported.omitted.flatMap((entry) => {
    const parsed = omittedEntry.safeParse(entry);
    return parsed.success && pathProblem(parsed.data.path) === undefined ? [parsed.data] : [];
  });
  let total = 0;
  let count = 0;
  for (const path of Object.keys(reported.files).sort()) {
    const parsed = fileContent.safeParse(reported.files[path]);
    if (pathProblem(path) !== undefined || !parsed.success) {
      omitted.push({ path: pathProblem(path) === undefined ? path : '?', reason: 'invalid-path' });
      continue;
    }
    const content = parsed.data;
    const bytes = contentBytes(content).length;
    const reason: OmissionReason | undefined =
      bytes > limits.maxFileBytes
        ? 'file-limit'
        : count >= limits.maxFiles
          ? 'count-limit'
          : total + bytes > limits.maxTotalBytes
            ? 'total-limit'
            : undefined;
    if (reason) {
      omitted.push({ path, bytes, reason });
      continue;
    }
    files[path] = content;
    total += bytes;
    count++;
  }
  return { files, omitted };
}

const omittedEntry = z.object({
  path: z.string(),
  bytes: z.number().int().min(0).optional(),
  reason: z.enum([
    'file-limit',
    'total-limit',
    'count-limit',
    'symlink',
    'not-a-file',
    'invalid-path',
  ]),
});

/** An omitted output file in the result's schema. */
export const omittedFileSchema = omittedEntry.meta({
  description:
    'An output file left out: file-limit, total-limit, count-limit (over a cap), symlink (never followed), not-a-file (a FIFO, socket or device), invalid-path',
});

/** Header of a request and answer carrying files (value `envelope`), for the runtimes. */
export const FILES_HEADER = 'x-hks-files';

/** A function's answer, as far as the files envelope is concerned. */
export interface FilesResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The body of a request carrying files: the event, the input files and the output caps. */
export function filesRequestBody(
  event: unknown,
  inputFiles: ExecutionFiles,
  limits: FileLimits,
  /** Further fields of the envelope (a session call's code and handler). @default - none */
  extra?: Readonly<Record<string, unknown>>,
): Buffer {
  return Buffer.from(
    JSON.stringify({ ...extra, event: event ?? null, inputFiles, outputLimits: limits }),
  );
}

const answerEnvelope = z.object({
  contentType: z.string().nullable(),
  body: z.string(),
  outputFiles: z.record(z.string(), z.unknown()),
  omittedFiles: z.array(z.unknown()),
});

/**
 * The handler's own answer inside a runtime's files envelope, and the output files held to the
 * limits; the answer as it came when it is no envelope (the runtime refused the request before
 * invoking, or a gateway answered).
 */
export function openFilesAnswer<R extends FilesResponse>(
  response: R,
  limits: FileLimits,
): { response: R; output?: { files: Record<string, FileContent>; omitted: OmittedFile[] } } {
  if (response.headers[FILES_HEADER] !== 'envelope') return { response };
  let parsed: z.infer<typeof answerEnvelope> | undefined;
  try {
    parsed = answerEnvelope.parse(JSON.parse(response.body.toString('utf8')));
  } catch {
    return { response };
  }
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => name !== FILES_HEADER),
  );
  if (parsed.contentType === null) delete headers['content-type'];
  else headers['content-type'] = parsed.contentType;
  return {
    response: { ...response, headers, body: Buffer.from(parsed.body, 'base64') },
    output: acceptOutputFiles({ files: parsed.outputFiles, omitted: parsed.omittedFiles }, limits),
  };
}

/** Output files in the result's schema. */
export const outputFilesSchema = z
  .record(
    z.string(),
    z.union([
      z.strictObject({ text: z.string() }),
      z.strictObject({ base64: z.string().meta({ contentEncoding: 'base64' }) }),
    ]),
  )
  .meta({
    description:
      'Files the code left under output/ (HKS_OUTPUT_DIR) by relative path: text when UTF-8, else base64; within the caps HKS_EXECUTE_FILES_MAX_COUNT, HKS_EXECUTE_FILE_LIMIT_BYTES, HKS_EXECUTE_FILES_LIMIT_BYTES',
  });
