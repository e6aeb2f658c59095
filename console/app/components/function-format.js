// Pure helpers of the functions pages: definitions, source errors, traffic splits, invocation
// logs. No DOM, no globals but atob/TextDecoder, so that they run under Node too
// (test/console-function-format.test.ts).

/** The definitions' apiVersion (constructs/definition-schema.ts API_VERSION). */
export const API_VERSION = 'hks.hexabase.io/v1';

/** The runtimes the console deploys source for, with their default handler and a first handler. */
export const SOURCE_RUNTIMES = {
  'python3.12': {
    label: 'Python 3.12',
    handler: 'main.handler',
    starter:
      'def handler(event, context):\n    print("invoked with", event)\n    return {"message": "Hello, " + str(event.get("name", "world"))}\n',
  },
  nodejs20: {
    label: 'Node.js 20',
    handler: 'index.handler',
    starter:
      'exports.handler = async (event) => {\n  console.log("invoked with", event);\n  return { message: `Hello, ${event.name ?? "world"}` };\n};\n',
  },
};

/** A Kubernetes object name the API takes for a function (a DNS label). */
export const FUNCTION_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A traffic tag (api/routes/functions.ts). */
export const TAG = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** The traffic target that follows whichever revision is latest ready. */
export const LATEST = '@latest';

/**
 * The line a source error of the API is on: its `line`, or the `(<file> line N)` its message
 * ends its first line with (the API before `line` existed). Undefined when neither says.
 * @param {{message: string, line?: number}} error
 */
export function sourceErrorLine(error) {
  if (Number.isInteger(error.line) && error.line > 0) return error.line;
  const first = error.message.split('\n')[0];
  const match = /\([^()]* line (\d+)\)$/.exec(first);
  return match ? Number(match[1]) : undefined;
}

/**
 * A source error's message cut into its first line (what is wrong, where) and the excerpt under
 * it (the line with a caret), if any.
 * @param {string} message
 */
export function splitSourceMessage(message) {
  const [summary, ...rest] = message.split('\n');
  return { summary, excerpt: rest.length ? rest.join('\n') : undefined };
}

/**
 * The API's field errors keyed by path, each path's messages joined: `{ 'spec.code': [...] }`.
 * @param {{path: string, message: string, line?: number}[]} errors
 */
export function errorsByPath(errors) {
  const byPath = {};
  for (const e of errors) (byPath[e.path] ??= []).push(e);
  return byPath;
}

/**
 * The traffic editor's rows as the API's PUT .../traffic body.
 * @param {{target: string, percent: string, tag: string}[]} rows `target` a revision or {@link LATEST}
 */
export function trafficBody(rows) {
  return {
    traffic: rows.map((r) => ({
      ...(r.target === LATEST ? { latestRevision: true } : { revision: r.target }),
      ...(r.tag.trim() === '' ? {} : { tag: r.tag.trim() }),
      percent: Number(r.percent),
    })),
  };
}

/** The sum of the rows' percentages (NaN when one is no number). */
export function trafficSum(rows) {
  return rows.reduce((sum, r) => sum + (r.percent.trim() === '' ? NaN : Number(r.percent)), 0);
}

/**
 * What the page refuses before sending a split, with the paths the API would use:
 * `traffic[i].percent`, `traffic[i].tag`, `traffic[i].revision`, `traffic` for the sum.
 * @param {{target: string, percent: string, tag: string}[]} rows
 * @returns {{path: string, message: string}[]}
 */
export function trafficProblems(rows) {
  const problems = [];
  const tags = new Set();
  rows.forEach((r, i) => {
    if (r.target === '')
      problems.push({
        path: `traffic[${i}].revision`,
        message: 'missing, expected a revision or the latest ready revision',
      });
    const percent = r.percent.trim();
    if (!/^\d{1,3}$/.test(percent) || Number(percent) > 100)
      problems.push({
        path: `traffic[${i}].percent`,
        message: `given ${JSON.stringify(r.percent)}, expected a whole number from 0 to 100`,
      });
    const tag = r.tag.trim();
    if (tag !== '' && !TAG.test(tag))
      problems.push({
        path: `traffic[${i}].tag`,
        message: `given ${JSON.stringify(tag)}, expected a lower-case DNS label such as canary`,
      });
    else if (tag !== '' && tags.has(tag))
      problems.push({
        path: `traffic[${i}].tag`,
        message: `given ${JSON.stringify(tag)} twice, expected each tag once`,
      });
    if (tag !== '') tags.add(tag);
  });
  if (rows.length === 0)
    problems.push({ path: 'traffic', message: 'no targets, expected at least one' });
  // The sum is only worth a message once every percent is one.
  const sum = trafficSum(rows);
  const percentsFine = !problems.some((p) => p.path.endsWith('.percent'));
  if (rows.length > 0 && percentsFine && sum !== 100)
    problems.push({
      path: 'traffic',
      message: `given percentages summing to ${sum}, expected 100`,
    });
  return problems;
}

/**
 * A function's traffic as the editor's rows: a revision, or {@link LATEST} for the latest ready.
 * @param {{revision?: string, latestRevision: boolean, tag?: string, percent: number}[]} traffic
 */
export function trafficRows(traffic) {
  return traffic.map((t) => ({
    target: t.latestRevision ? LATEST : (t.revision ?? ''),
    percent: String(t.percent),
    tag: t.tag ?? '',
  }));
}

/**
 * The `X-Hks-Log-Result` header of an invocation (base64 of UTF-8 lines) split into what the
 * code wrote and the runtime's record of the invocation, which the runtimes put last
 * (runtimes/log-records.ts). Only that last line is taken out.
 * @param {string} value
 * @returns {{output: string, record?: {status?: number, durationMs?: number, requestId?: string, error?: unknown}}}
 */
export function decodeLogTail(value) {
  const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  const text = new TextDecoder().decode(bytes);
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const record = invocationRecord(lines.at(-1) ?? '');
  if (record === undefined) return { output: text };
  const output = lines.slice(0, -1).join('\n');
  return { output: output === '' ? '' : `${output}\n`, record };
}

/** The runtime's own `invocation` record on this line, if it is one. */
function invocationRecord(line) {
  if (!line.startsWith('{')) return undefined;
  try {
    const record = JSON.parse(line);
    return typeof record?.function === 'string' && record.message === 'invocation'
      ? record
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A response body for reading: JSON indented when its type says JSON and it parses.
 * @param {string} text
 * @param {string} contentType
 */
export function readableBody(text, contentType) {
  if (!/\bjson\b/i.test(contentType)) return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * What a JSON request body has wrong, or undefined when it parses.
 * @param {string} text
 */
export function jsonProblem(text) {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return `not JSON (${String(error?.message ?? error)}); expected a JSON value such as {"name": "Ada"}, or choose Text`;
  }
}

/**
 * A function's readiness in words, and the badge class that colours it.
 * @param {{ready: boolean, failed: boolean, reason?: string}} fn
 */
export function readinessOf(fn) {
  if (fn.ready) return { label: 'Ready', kind: 'ready' };
  if (fn.failed) return { label: 'Failed', kind: 'failed' };
  return { label: 'Not ready', kind: 'pending' };
}

/** A traffic split in words: `greet-00002 50% (canary), latest ready 50%`. */
export function trafficInWords(traffic) {
  return traffic
    .map(
      (t) =>
        `${t.latestRevision ? `latest (${t.revision ?? 'none ready'})` : t.revision} ${t.percent}%${t.tag ? ` (${t.tag})` : ''}`,
    )
    .join(', ');
}
