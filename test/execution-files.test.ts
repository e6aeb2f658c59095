import { ConfigError, loadConfig } from '../api/config';
import {
  acceptOutputFiles,
  checkInputFiles,
  DEFAULT_FILE_LIMITS,
  executionFilesSchema,
  FILES_HEADER,
  openFilesAnswer,
  pathProblem,
} from '../api/execution-files';
import { Problem } from '../api/problem';

const limits = { maxFiles: 2, maxFileBytes: 10, maxTotalBytes: 15 };

test('safe relative paths pass; unsafe ones say what was given and what is expected', () => {
  for (const path of ['a', 'data/in.csv', 'a b/c.d', '.hidden', 'x..y', 'ünï/çødé']) {
    expect(pathProblem(path)).toBeUndefined();
  }
  expect(pathProblem('')).toMatch(/^given an empty path, expected a relative path/);
  expect(pathProblem('/etc/passwd')).toMatch(/^given "\/etc\/passwd", an absolute path; expected/);
  for (const path of [
    '../x',
    'a/../../x',
    '..',
    './a',
    'a/.',
    'a//b',
    'a/',
    'a\\b',
    'a\u0000b',
    'a\nb',
  ]) {
    expect(pathProblem(path)).toMatch(/^given ".*", expected a relative path of names/s);
  }
  expect(pathProblem('x'.repeat(256))).toMatch(/expected a relative path/);
  expect(pathProblem(`${'a/'.repeat(600)}b`)).toMatch(/\(1201 characters\)/);
});

test('the schema names the file of a bad path, and of bad contents', () => {
  const result = executionFilesSchema.safeParse({
    '../x': { text: 'a' },
    ok: {},
    both: { text: 'a', base64: 'YQ==' },
    bad64: { base64: 'YQ=' },
    fine: { base64: 'YQ==' },
  });
  expect(result.success).toBe(false);
  const issues = result.error?.issues.map((i) => [i.path.join('/'), i.message]);
  expect(issues).toEqual(
    expect.arrayContaining([
      ['../x', expect.stringMatching(/^given "\.\.\/x", expected a relative path/)],
      ['ok', 'given neither text nor base64, expected exactly one of them'],
      ['both', 'given both text and base64, expected exactly one of them'],
      ['bad64/base64', expect.stringContaining('expected base64')],
    ]),
  );
  expect(issues).toHaveLength(4);
});

test('input caps: count, one file and the total, in decoded bytes', () => {
  const problem = (files: Parameters<typeof checkInputFiles>[0]) => {
    try {
      checkInputFiles(files, limits);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(Problem);
      return (error as Problem).errors;
    }
  };
  expect(
    problem({ a: { text: 'x'.repeat(10) }, b: { base64: Buffer.alloc(5).toString('base64') } }),
  ).toBeUndefined();
  expect(problem({ a: { text: 'a' }, b: { text: 'b' }, c: { text: 'c' } })).toEqual([
    {
      path: 'inputFiles',
      message: 'given 3 files, expected at most 2 (HKS_EXECUTE_FILES_MAX_COUNT)',
    },
  ]);
  // 'é' is two bytes: 6 characters, 12 bytes.
  expect(problem({ 'd/e.txt': { text: 'éééééé' } })).toEqual([
    {
      path: 'inputFiles["d/e.txt"]',
      message: 'given 12 bytes, expected at most 10 bytes per file (HKS_EXECUTE_FILE_LIMIT_BYTES)',
    },
  ]);
  expect(
    problem({ a: { text: 'x'.repeat(10) }, b: { base64: Buffer.alloc(6).toString('base64') } }),
  ).toEqual([
    {
      path: 'inputFiles',
      message:
        'given 16 bytes in 2 files, expected at most 15 bytes in all (HKS_EXECUTE_FILES_LIMIT_BYTES)',
    },
  ]);
});

test('output files are held to the rules again, whatever the runtime reported', () => {
  const accepted = acceptOutputFiles(
    {
      files: {
        '../escape': { text: 'x' },
        'b.txt': { text: 'x'.repeat(11) },
        'a.txt': { text: 'aaaaa' },
        'c.bin': { base64: Buffer.alloc(8).toString('base64') },
        'd.txt': { text: 'd' },
        'e.txt': { wrong: 1 },
      },
      omitted: [{ path: 'link', reason: 'symlink' }, { path: '/abs', reason: 'symlink' }, 'junk'],
    },
    limits,
  );
  expect(accepted.files).toEqual({
    'a.txt': { text: 'aaaaa' },
    'c.bin': { base64: Buffer.alloc(8).toString('base64') },
  });
  expect(accepted.omitted).toEqual([
    { path: 'link', reason: 'symlink' },
    { path: '?', reason: 'invalid-path' },
    { path: 'b.txt', bytes: 11, reason: 'file-limit' },
    { path: 'd.txt', bytes: 1, reason: 'count-limit' },
    { path: 'e.txt', reason: 'invalid-path' },
  ]);
});

test('a files envelope is opened; an answer without one is passed as it came', () => {
  const plain = {
    status: 502,
    headers: { 'content-type': 'text/plain' },
    body: Buffer.from('bad gateway'),
  };
  expect(openFilesAnswer(plain, limits)).toEqual({ response: plain });
  const envelope = {
    status: 500,
    headers: {
      'content-type': 'application/json',
      [FILES_HEADER]: 'envelope',
      'x-request-id': 'r1',
    },
    body: Buffer.from(
      JSON.stringify({
        contentType: 'text/plain; charset=utf-8',
        body: Buffer.from('oops').toString('base64'),
        outputFiles: { 'a.txt': { text: 'a' } },
        omittedFiles: [],
      }),
    ),
  };
  const opened = openFilesAnswer(envelope, limits);
  expect(opened.response).toEqual({
    status: 500,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-request-id': 'r1' },
    body: Buffer.from('oops'),
  });
  expect(opened.output).toEqual({ files: { 'a.txt': { text: 'a' } }, omitted: [] });
});

test('the caps are read from the environment, validated, with their defaults', () => {
  const base = { HKS_JWT_SECRET: 'user-secret-of-at-least-thirty-two-bytes!' };
  expect(loadConfig(base, '/tmp').executeFileLimits).toEqual(DEFAULT_FILE_LIMITS);
  expect(
    loadConfig(
      {
        ...base,
        HKS_EXECUTE_FILES_MAX_COUNT: '5',
        HKS_EXECUTE_FILE_LIMIT_BYTES: '100',
        HKS_EXECUTE_FILES_LIMIT_BYTES: '200',
      },
      '/tmp',
    ).executeFileLimits,
  ).toEqual({ maxFiles: 5, maxFileBytes: 100, maxTotalBytes: 200 });
  try {
    loadConfig(
      { ...base, HKS_EXECUTE_FILES_MAX_COUNT: '0', HKS_EXECUTE_FILES_LIMIT_BYTES: '1k' },
      '/tmp',
    );
    throw new Error('expected a ConfigError');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'HKS_EXECUTE_FILES_MAX_COUNT: given "0", expected a whole number from 1 to 10000',
      'HKS_EXECUTE_FILES_LIMIT_BYTES: given "1k", expected a whole number from 1 to 67108864',
    ]);
  }
});
