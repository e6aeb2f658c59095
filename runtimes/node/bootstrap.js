'use strict';
/**
 * HKS function runtime for Node.js (18+, no dependencies).
 *
 * Serves one handler over HTTP. Configured by environment variables:
 *
 *   HKS_FUNCTION_DIR     folder holding the function's code   (default /var/hks/function)
 *   HKS_HANDLER          file.export, e.g. index.handler      (required)
 *   HKS_FUNCTION_NAME    name reported in context and logs    (default: the handler)
 *   HKS_TIMEOUT_SECONDS  per-invocation time limit            (default 30)
 *   HKS_DEBUG            1: error responses include the stack (default off)
 *   HKS_MAX_REQUEST_BYTES  largest request body, in bytes     (default 6291456, 6 MiB)
 *   PORT                 port to listen on                    (default 8080)
 *   HKS_RUNTIME_MODE     "session": an agent session's function (see sessionSettings)
 *   HKS_SESSION_ONCE     1: one execution per instance, session mode only (default 0; see openSessionCall)
 *
 * GET /healthz answers 200 once the handler is loaded; POST to any path invokes
 * handler(event, context), which may return a value or a Promise; a handler declaring one
 * parameter ignores the context, as JavaScript ignores extra arguments. One whose `length`
 * (parameters before any default or rest parameter) is over 2, the callback style, stops the
 * start with an error naming it and SIGNATURES, the accepted signatures. Past the timeout the caller
 * gets a 504 and the server goes on serving; the handler's Promise is abandoned, not cancelled.
 * A handler that blocks the event loop with synchronous CPU work cannot be preempted: its
 * caller gets the 504 when it returns, and other requests wait meanwhile. A body over
 * HKS_MAX_REQUEST_BYTES is answered 413 without invoking. A response the handler asks for that
 * HTTP cannot carry (a statusCode that is not an integer from 200 to 599, a header name that is
 * not a token, a header value with CR, LF or NUL) is answered 500 InvalidResponse instead.
 *
 * A request with the header "X-Hks-Log: tail" gets the invocation's output back in the response
 * header "X-Hks-Log-Result" (base64 of UTF-8 lines, as they appear in the logs): what the handler
 * wrote to stdout and stderr within its async context (console.* included), the invocation's own
 * JSON record last, and before them, for the first such request only, what the module wrote
 * while loading. The header is left out when that output exceeds 8 KiB; the logs have all of it.
 * Beside it, "X-Hks-Log-Streams" says which stream each part of that output went to, even when
 * the output itself is left out: runs of "o<bytes>" (stdout) and "e<bytes>" (stderr) in order,
 * comma-separated (left out past 4 KiB).
 *
 * A request with the header "X-Hks-Files: envelope" (execute-once) carries files: its body is
 * {"event", "inputFiles": {path: {"text"} | {"base64"}}, "outputLimits": {"maxFiles",
 * "maxFileBytes", "maxTotalBytes"}}. The handler gets the event and runs in a fresh working
 * directory holding input/ (the input files) and output/ (empty), also named by the variables
 * HKS_INPUT_DIR and HKS_OUTPUT_DIR. Its answer is the JSON {"contentType", "body" (base64),
 * "outputFiles", "omittedFiles"} with the same status and "X-Hks-Files: envelope": the regular
 * files under output/, text when they are UTF-8 and base64 otherwise, within the limits in path
 * order; a symlink is never followed (listed as omitted), nor a file over a limit. The folder is
 * removed after the answer.
 *
 * A request with the header "X-Hks-Stream: ndjson" gets its answer streamed (see OutputStream):
 * a 200 of NDJSON lines, the handler's output as it is written, then the answer it would have got.
 */
const http = require('node:http');
const { AsyncLocalStorage } = require('node:async_hooks');
const path = require('node:path');
const { createHash, randomBytes, timingSafeEqual } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const { existsSync, readdirSync, readFileSync } = fs;
const { pathToFileURL } = require('node:url');
const { TextDecoder } = require('node:util');

const DEFAULT_DIR = '/var/hks/function';
const DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024;
/** Framing is the runtime's own: the handler's copies could contradict it. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);
const LOG_TAIL_LIMIT = 8192; // bytes of output a response header carries at most
const LOG_STREAMS_LIMIT = 4096; // bytes of the stream runs' header at most
const FILES_HEADER = 'x-hks-files'; // "envelope": files in the request and the answer
const STREAM_HEADER = 'x-hks-stream'; // "ndjson": output as it is written, then the answer
const INIT_HEADER = 'X-Hks-Init-Ms'; // on an instance's first answer: the handler's load time
const MAX_OUTPUT_ENTRIES = 10000; // entries of the output folder looked at, at most
const SESSION_HEADER = 'x-hks-session-secret'; // session mode: only the API may load code
const MIN_SESSION_SECRET_LENGTH = 32; // characters (hex of 128 bits)
/** The same text as INSTANCE_USED_MESSAGE of runtimes/python/bootstrap.py. */
const INSTANCE_USED_MESSAGE =
  'this runtime instance has run its one execution (HKS_SESSION_ONCE=1); the platform starts a new one for the next';
/** The same text as HANDLER_SIGNATURES.nodejs20 of constructs/function-rules.ts. */
const SIGNATURES =
  '(event) or (event, context), returning a value or a Promise (further parameters need defaults; callback-style (event, context, callback) is not supported)';

/** Output kept for a log tail, up to LOG_TAIL_LIMIT bytes; past that it only notes overflow. */
class OutputBuffer {
  parts = [];
  size = 0;
  overflowed = false;
  /** [stream letter, bytes] of consecutive writes to one stream, kept past the limit. */
  runs = [];
  /** Called with each write as it happens (a streamed answer). */
  onWrite = undefined;

  add(chunk, stream = 'o') {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    this.onWrite?.(text, stream);
    const size = Buffer.byteLength(text);
    const last = this.runs.at(-1);
    if (last?.[0] === stream) last[1] += size;
    else if (size > 0) this.runs.push([stream, size]);
    if (this.overflowed) return;
    this.size += size;
    if (this.size > LOG_TAIL_LIMIT) {
      this.overflowed = true;
      this.parts = [];
    } else {
      this.parts.push(text);
    }
  }

  text() {
    return this.parts.join('');
  }
}

/** The OutputBuffer of the code running now: the invocation's, or the module load's. */
const outputCapture = new AsyncLocalStorage();
for (const [stream, letter] of [
  [process.stdout, 'o'],
  [process.stderr, 'e'],
]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    outputCapture.getStore()?.add(chunk, letter);
    return write(chunk, ...rest);
  };
}

/** The X-Hks-Log-Result value: outputs and the record as log lines, or undefined past the limit. */
function logTail(outputs, record) {
  if (outputs.some((o) => o.overflowed)) return undefined;
  let text = outputs.map((o) => o.text()).join('');
  if (text && !text.endsWith('\n')) text += '\n';
  const data = Buffer.from(`${text}${JSON.stringify(record)}\n`);
  return data.length > LOG_TAIL_LIMIT ? undefined : data.toString('base64');
}

/** The X-Hks-Log-Streams value: the outputs' stream runs in order, or undefined when too long. */
function logStreams(outputs) {
  const runs = [];
  for (const [letter, size] of outputs.flatMap((o) => o.runs)) {
    const last = runs.at(-1);
    if (last?.[0] === letter) last[1] += size;
    else runs.push([letter, size]);
  }
  const value = runs.map(([letter, size]) => `${letter}${size}`).join(',');
  return value.length <= LOG_STREAMS_LIMIT ? value : undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/**
 * A binary-mode CloudEvent's attributes: its ce-* headers without the prefix, and its content
 * type as datacontenttype; null when the request carries none.
 */
function cloudEventOf(headers) {
  const attributes = {};
  for (const [name, value] of Object.entries(headers))
    if (name.startsWith('ce-')) attributes[name.slice(3)] = String(value);
  if (Object.keys(attributes).length === 0) return null;
  if (headers['content-type']) attributes.datacontenttype = headers['content-type'];
  return attributes;
}

const SPAN_HEADER = 'X-Hks-Span'; // the invocation's span, which the API exports

/** The invocation's span in the caller's W3C trace: { trace_id, span_id }, or undefined. */
function traceOf(headers) {
  const match = TRACEPARENT.exec(String(headers.traceparent ?? '').trim());
  if (!match || /^0+$/.test(match[1]) || /^0+$/.test(match[2])) return undefined;
  return { trace_id: match[1], span_id: randomBytes(8).toString('hex') };
}

/** The X-Hks-Span value: span id, start and end in µs since the epoch, cold start. */
function spanHeader(trace, startedMs, coldstart) {
  const micros = (ms) => Math.round(ms * 1000);
  return `${trace.span_id};start=${micros(startedMs)};end=${micros(Date.now())};coldstart=${coldstart}`;
}

/** Writes one JSON line to stdout. */
function log(record) {
  process.stdout.write(`${JSON.stringify({ time: Date.now() / 1000, ...record })}\n`);
}

class LoadError extends Error {}

/** Loads file.export from the folder (CommonJS, or an ES module), or throws a LoadError. */
async function loadHandler(directory, spec) {
  const dot = spec.lastIndexOf('.');
  if (dot <= 0 || dot === spec.length - 1) {
    throw new LoadError(`HKS_HANDLER: given "${spec}", expected file.export, e.g. index.handler`);
  }
  const file = spec.slice(0, dot);
  const name = spec.slice(dot + 1);
  const base = path.resolve(directory, file);
  let exported;
  try {
    const resolved = resolveModule(base);
    // ES modules by import(): require() of one with top-level await fails where it is allowed.
    exported = isEsModule(resolved)
      ? await import(pathToFileURL(resolved).href)
      : require(resolved);
  } catch (error) {
    if (error.code === 'ERR_REQUIRE_ESM') {
      exported = await import(pathToFileURL(require.resolve(base)).href);
    } else if (error.code === 'MODULE_NOT_FOUND' && !isFound(base)) {
      const files = safeList(directory);
      throw new LoadError(
        `HKS_HANDLER: given "${spec}", but there is no file "${file}" (.js, .cjs, .mjs or ${file}/index.js) in ${directory} (files: ${files})`,
      );
    } else {
      throw new LoadError(`file "${file}" failed to load: ${error.stack || error}`);
    }
  }
  return handlerOf(exported, spec, file, name);
}

/** The function `name` of a loaded module, checked; throws a LoadError. */
function handlerOf(exported, spec, file, name) {
  const handler = exported[name] ?? exported.default?.[name];
  if (typeof handler !== 'function') {
    const names = Object.keys(exported).filter((k) => typeof exported[k] === 'function');
    throw new LoadError(
      `HKS_HANDLER: given "${spec}", but "${file}" exports no function "${name}" (functions: ${names.join(', ') || 'none'})`,
    );
  }
  if (handler.length > 2) {
    throw new LoadError(
      `handler ${JSON.stringify(spec)} has length ${handler.length}: ${handler.length} parameters before any default, more than event and context; expected ${SIGNATURES}`,
    );
  }
  return handler;
}

/** The file require() would load for base, else base.mjs; throws MODULE_NOT_FOUND. */
function resolveModule(base) {
  try {
    return require.resolve(base);
  } catch (error) {
    if (error.code === 'MODULE_NOT_FOUND' && existsSync(`${base}.mjs`)) return `${base}.mjs`;
    throw error;
  }
}

/** Whether Node loads the file as an ES module: .mjs, or .js under a package.json "type": "module". */
function isEsModule(file) {
  if (file.endsWith('.mjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let folder = path.dirname(file); ; folder = path.dirname(folder)) {
    const manifest = path.join(folder, 'package.json');
    if (existsSync(manifest)) {
      try {
        return JSON.parse(readFileSync(manifest, 'utf8')).type === 'module';
      } catch {
        return false; // require() then reports the broken package.json
      }
    }
    if (path.dirname(folder) === folder) return false;
  }
}

function isFound(base) {
  try {
    require.resolve(base);
    return true;
  } catch {
    return false;
  }
}

function safeList(directory) {
  try {
    return readdirSync(directory).sort().join(', ') || 'none';
  } catch {
    return `none: ${directory} is not a readable folder`;
  }
}

/** A request the runtime refuses without invoking. */
class RequestError extends Error {}

/**
 * Session mode (HKS_RUNTIME_MODE=session): the function of an agent session, whose revision
 * carries no code of its own. Each POST must carry "X-Hks-Session-Secret" equal to
 * HKS_SESSION_SECRET (compared in constant time; the variable is removed from the environment
 * at start), or it is answered 403 and nothing runs. Its body is the files envelope plus "code"
 * (a CommonJS module), "handler" (file.export, default index.handler) and "timeoutSeconds" (at
 * most HKS_TIMEOUT_SECONDS): the code is loaded as a new module for that call only, from a file
 * of its own (no module of an earlier call is reused, nor its globals), and called as any
 * handler. The working directory is the session folder (HKS_SESSION_DIR, default a new folder
 * under the temporary directory), which keeps its files between calls; its input/ and output/ are those of
 * the files envelope, emptied after each answer. Returns the secret's digest, the session folder
 * and a folder for the calls' modules; undefined after reporting a bad setting. once:
 * HKS_SESSION_ONCE=1, one execution per instance (see openSessionCall).
 */
function sessionSettings(once = false) {
  const secret = process.env.HKS_SESSION_SECRET ?? '';
  delete process.env.HKS_SESSION_SECRET;
  if (secret.length < MIN_SESSION_SECRET_LENGTH) {
    process.stderr.write(
      `hks: HKS_SESSION_SECRET: given ${secret.length} characters, expected at least ${MIN_SESSION_SECRET_LENGTH} (HKS_RUNTIME_MODE=session)\n`,
    );
    return undefined;
  }
  // A folder of this process's own: processes of a host may share its temporary directory.
  const folder =
    process.env.HKS_SESSION_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'hks-session-'));
  fs.mkdirSync(folder, { recursive: true });
  process.env.HKS_SESSION_DIR = folder;
  const codeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'hks-session-code-'));
  return {
    secret: createHash('sha256').update(secret).digest(),
    folder,
    codeRoot,
    calls: 0,
    once,
    used: false, // once: a request with the valid secret has come
  };
}

/**
 * HKS_SESSION_ONCE: true for "1", false when unset, empty or "0"; undefined after reporting any
 * other value. Checked in every mode, though only session mode uses it.
 */
function sessionOnceSetting() {
  const raw = process.env.HKS_SESSION_ONCE ?? '';
  if (['', '0', '1'].includes(raw)) return raw === '1';
  process.stderr.write(
    `hks: HKS_SESSION_ONCE: given "${raw}", expected 1 (one execution per instance, HKS_RUNTIME_MODE=session), or 0, empty or unset (no limit)\n`,
  );
  return undefined;
}

/** Whether a request's session secret is the session's, compared in constant time. */
function isSessionSecret(given, session) {
  if (typeof given !== 'string' || given === '') return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), session.secret);
}

/**
 * A session call: {code, handler, timeoutSeconds, files} with the files envelope opened in the
 * session folder (fresh input/ and output/), or {refused: [status, type, message]}.
 *
 * With HKS_SESSION_ONCE=1 the instance serves one execution ever, so that nothing one leaves
 * behind (a file, a global, a timer) meets another's code: the instance is used once a request
 * with the valid secret arrives, whatever follows (a 400 for its envelope included, to be safe),
 * and every later request, valid secret or not, still running or not, is answered 409
 * InstanceUsed without loading anything. A request refused 403 does not use it up. The check
 * and the mark are one synchronous step: no other request runs between them.
 */
function openSessionCall(req, body, session, maxTimeout) {
  if (session.used) return { refused: [409, 'InstanceUsed', INSTANCE_USED_MESSAGE] };
  if (!isSessionSecret(req.headers[SESSION_HEADER], session)) {
    return {
      refused: [
        403,
        'Forbidden',
        `this session function runs code only for the HKS API: the request has no valid ${SESSION_HEADER} header`,
      ],
    };
  }
  session.used = session.once;
  let envelope;
  try {
    envelope = JSON.parse(body.toString('utf8') || 'null');
  } catch {
    envelope = undefined;
  }
  if (envelope === null || typeof envelope !== 'object' || typeof envelope.code !== 'string') {
    const message =
      'the body is not a session envelope; expected a JSON object {code, handler, event, inputFiles, outputLimits, timeoutSeconds}';
    return { refused: [400, 'InvalidRequest', message] };
  }
  const timeoutSeconds = envelope.timeoutSeconds ?? maxTimeout;
  if (!(typeof timeoutSeconds === 'number' && timeoutSeconds > 0 && timeoutSeconds <= maxTimeout)) {
    const message = `timeoutSeconds: given ${describe(timeoutSeconds)}, expected a number of seconds from 1 to ${maxTimeout}`;
    return { refused: [400, 'InvalidRequest', message] };
  }
  const { code, handler, ...rest } = envelope;
  let opened;
  try {
    opened = openFilesEnvelope(Buffer.from(JSON.stringify(rest)));
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    return { refused: [400, 'InvalidRequest', error.message] };
  }
  // The files envelope's own folder only brought the input files: they move to the session's.
  for (const sub of ['input', 'output']) {
    fs.rmSync(path.join(session.folder, sub), { recursive: true, force: true });
  }
  fs.renameSync(path.join(opened.run, 'input'), path.join(session.folder, 'input'));
  fs.mkdirSync(path.join(session.folder, 'output'));
  fs.rmSync(opened.run, { recursive: true, force: true });
  return {
    code,
    handler: String(handler ?? 'index.handler'),
    timeoutSeconds,
    files: { ...opened, run: session.folder },
  };
}

/**
 * Loads a session call's code as a new CommonJS module from a file of its own, dropped from
 * require's cache at once: nothing of an earlier call's module is reused. Throws a LoadError.
 */
function loadSessionHandler(call, session) {
  const spec = call.handler;
  const dot = spec.lastIndexOf('.');
  const file = spec.slice(0, dot);
  if (dot <= 0 || dot === spec.length - 1 || !isSafeRelative(file)) {
    throw new LoadError(`handler: given "${spec}", expected file.export, e.g. index.handler`);
  }
  fs.rmSync(path.join(session.codeRoot, String(session.calls)), { recursive: true, force: true });
  const module = path.join(session.codeRoot, String(++session.calls), `${file}.js`);
  fs.mkdirSync(path.dirname(module), { recursive: true });
  fs.writeFileSync(module, call.code);
  let exported;
  try {
    exported = require(module);
  } finally {
    delete require.cache[module];
  }
  return handlerOf(exported, spec, file, spec.slice(dot + 1));
}

/** Whether path is relative, of plain names, without "..", "." or empty names. */
function isSafeRelative(p) {
  // eslint-disable-next-line no-control-regex -- control characters have no place in a name
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(p)) {
    return false;
  }
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/**
 * The event, limits and run folder of a files envelope, the input files written to run/input;
 * throws a RequestError for an envelope that is not one.
 */
function openFilesEnvelope(body) {
  let envelope;
  try {
    envelope = JSON.parse(body.toString('utf8') || 'null');
  } catch {
    envelope = undefined;
  }
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) {
    throw new RequestError(
      'the body is not a files envelope; expected a JSON object {event, inputFiles, outputLimits}',
    );
  }
  const files = envelope.inputFiles ?? {};
  const limits = envelope.outputLimits ?? {};
  if (typeof files !== 'object' || typeof limits !== 'object') {
    throw new RequestError('inputFiles and outputLimits: expected objects');
  }
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'hks-run-'));
  try {
    fs.mkdirSync(path.join(run, 'input'));
    fs.mkdirSync(path.join(run, 'output'));
    for (const [name, content] of Object.entries(files)) {
      if (!isSafeRelative(name)) {
        throw new RequestError(
          `inputFiles: given the path ${describe(name)}, expected a relative path without ".."`,
        );
      }
      let data;
      if (typeof content?.text === 'string') data = Buffer.from(content.text, 'utf8');
      else if (typeof content?.base64 === 'string') data = Buffer.from(content.base64, 'base64');
      else throw new RequestError(`inputFiles[${describe(name)}]: expected {text} or {base64}`);
      const target = path.join(run, 'input', ...name.split('/'));
      try {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, data, { flag: 'wx' });
      } catch (error) {
        throw new RequestError(`inputFiles[${describe(name)}]: cannot be written: ${error.code}`);
      }
    }
  } catch (error) {
    fs.rmSync(run, { recursive: true, force: true });
    throw error;
  }
  return { event: envelope.event ?? null, limits, run };
}

/** {text} for UTF-8, {base64} for other bytes. */
function fileContent(data) {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(data) };
  } catch {
    return { base64: data.toString('base64') };
  }
}

/**
 * [files, omitted] of the output folder: regular files within the limits, in path order. Files
 * are opened with O_NOFOLLOW and what was opened is checked to lie in the folder (by
 * /proc/self/fd), so that no symlink is followed, not even one swapped in while walking.
 */
function collectOutput(folder, limits) {
  const limit = (name, fallback) =>
    Number.isInteger(limits[name]) && limits[name] >= 0 ? limits[name] : fallback;
  const maxFiles = limit('maxFiles', 100);
  const maxFile = limit('maxFileBytes', 1 << 20);
  const maxTotal = limit('maxTotalBytes', 1 << 20);
  const root = fs.realpathSync(folder);
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const files = {};
  const omitted = [];
  const found = [];
  let seen = 0;
  const inFolder = (fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${root}/`);
    } catch {
      return true; // no /proc: O_NOFOLLOW and lstat remain
    }
  };
  const walk = (directory, prefix) => {
    const entries = readdirSync(directory, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (++seen > MAX_OUTPUT_ENTRIES) return;
      const relative = prefix + entry.name;
      const full = path.join(directory, entry.name);
      if (entry.isSymbolicLink()) omitted.push({ path: relative, reason: 'symlink' });
      else if (entry.isDirectory()) walk(full, `${relative}/`);
      else if (!entry.isFile()) omitted.push({ path: relative, reason: 'not-a-file' });
      else found.push([relative, full]);
    }
  };
  walk(root, '');
  found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let total = 0;
  for (const [relative, full] of found) {
    let fd;
    try {
      fd = fs.openSync(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      omitted.push({ path: relative, reason: error.code === 'ELOOP' ? 'symlink' : 'not-a-file' });
      continue;
    }
    try {
      const stats = fs.fstatSync(fd);
      if (!stats.isFile() || !inFolder(fd)) {
        omitted.push({ path: relative, reason: stats.isFile() ? 'symlink' : 'not-a-file' });
        continue;
      }
      let size = stats.size;
      const over = () =>
        size > maxFile
          ? 'file-limit'
          : Object.keys(files).length >= maxFiles
            ? 'count-limit'
            : total + size > maxTotal
              ? 'total-limit'
              : undefined;
      let reason = over();
      let data;
      if (reason === undefined) {
        const buffer = Buffer.alloc(maxFile + 1);
        size = fs.readSync(fd, buffer, 0, buffer.length, 0);
        data = buffer.subarray(0, size);
        reason = over();
      }
      if (reason === undefined) {
        files[relative] = fileContent(data);
        total += size;
      } else omitted.push({ path: relative, bytes: size, reason });
    } finally {
      fs.closeSync(fd);
    }
  }
  return [files, omitted];
}

/** [headers, bytes] of a files envelope's answer: the handler's body and the output files. */
function filesAnswer(headers, payload, run, limits, keep = false) {
  let files;
  let omitted;
  try {
    [files, omitted] = collectOutput(path.join(run, 'output'), limits);
  } finally {
    process.chdir(path.dirname(run)); // out of the folder before it goes
    // A session keeps its folder: only this call's input and output go.
    for (const gone of keep ? ['input', 'output'].map((s) => path.join(run, s)) : [run]) {
      fs.rmSync(gone, { recursive: true, force: true });
    }
  }
  const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type');
  const kept = Object.fromEntries(
    Object.entries(headers).filter(
      ([k]) => !['content-type', FILES_HEADER].includes(k.toLowerCase()),
    ),
  );
  const envelope = {
    contentType: contentType ? String(contentType[1]) : null,
    body: payload.toString('base64'),
    outputFiles: files,
    omittedFiles: omitted,
  };
  return [
    { ...kept, 'Content-Type': 'application/json', 'X-Hks-Files': 'envelope' },
    Buffer.from(JSON.stringify(envelope)),
  ];
}

function parseEvent(body) {
  if (body.length === 0) return null;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Bytes and content type of a handler's body value. */
function encodeBody(body) {
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    return [Buffer.from(body), 'application/octet-stream'];
  }
  if (typeof body === 'string') return [Buffer.from(body, 'utf8'), 'text/plain; charset=utf-8'];
  return [Buffer.from(JSON.stringify(body === undefined ? null : body)), 'application/json'];
}

/** A handler's answer that HTTP cannot carry. */
class InvalidResponse extends Error {
  name = 'InvalidResponse';
}

/** The status code a handler asked for: an integer (or its digits) from 200 to 599. */
function statusOf(value) {
  const status = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  if (Number.isInteger(status) && status >= 200 && status <= 599) return status;
  throw new InvalidResponse(
    `the handler returned statusCode ${describe(value)}; expected an integer from 200 to 599`,
  );
}

/** The handler's headers, checked: token names, values without CR, LF or NUL. */
function headersOf(value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidResponse(
      `the handler returned headers ${describe(value)}; expected an object of name to value`,
    );
  }
  const headers = {};
  for (const [name, raw] of Object.entries(value)) {
    try {
      http.validateHeaderName(name);
    } catch {
      throw new InvalidResponse(
        `the handler returned the header name ${describe(name)}; expected an HTTP token (letters, digits and !#$%&'*+-.^_\`|~)`,
      );
    }
    if (FRAMING_HEADERS.has(name.toLowerCase())) continue;
    const values = (Array.isArray(raw) ? raw : [raw]).map(String);
    for (const text of values) {
      if (/[\r\n\0]/.test(text)) {
        throw new InvalidResponse(
          `the handler returned header ${name} with the value ${describe(text)}; expected a value without CR, LF or NUL`,
        );
      }
      try {
        http.validateHeaderValue(name, text);
      } catch {
        throw new InvalidResponse(
          `the handler returned header ${name} with the value ${describe(text)}; expected visible ASCII, spaces and tabs`,
        );
      }
    }
    headers[name] = Array.isArray(raw) ? values : values[0];
  }
  return headers;
}

/** A short JSON rendering of a value for an error message. */
function describe(value) {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}

/** [status, headers, bytes] of a handler's return value; throws InvalidResponse. */
function toResponse(result) {
  if (result !== null && typeof result === 'object' && 'statusCode' in result) {
    const status = statusOf(result.statusCode);
    const headers = headersOf(result.headers);
    const [payload, contentType] = encodeBody(result.body ?? '');
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = contentType;
    }
    return [status, headers, payload];
  }
  const [payload, contentType] = encodeBody(result);
  return [200, { 'Content-Type': contentType }, payload];
}

/** [status, headers, bytes] of a JSON body. */
function jsonResponse(status, value) {
  return [status, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify(value))];
}

const TIMED_OUT = Symbol('timeout');

/** Settles with the handler's value, throws its error, or resolves TIMED_OUT. */
function runHandler(handler, event, context, timeoutMs) {
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(resolve, timeoutMs, TIMED_OUT);
  });
  const invocation = new Promise((resolve) => resolve(handler(event, context)));
  invocation.catch(() => {}); // an error after the timeout must not crash the process
  return Promise.race([invocation, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The streamed answer of a request with "X-Hks-Stream: ndjson": a 200 of NDJSON lines sent as
 * they come, {"type": "output", "stream": "stdout" | "stderr", "text"} for each write of the
 * handler (after what the module wrote while loading, when that is still unclaimed), then one
 * {"type": "result", "status", "headers", "body" (base64)}: the answer the request would have
 * got without the header, log tail and files envelope included.
 */
class OutputStream {
  constructor(res, requestId, output, startupOutput) {
    this.res = res;
    this.output = output;
    res.writeHead(200, {
      'Content-Type': 'application/x-ndjson',
      'Cache-Control': 'no-store',
      'X-Request-Id': requestId,
      'X-Hks-Stream': 'ndjson',
    });
    res.flushHeaders();
    if (startupOutput && !startupOutput.overflowed) {
      const bytes = Buffer.from(startupOutput.text());
      let at = 0;
      for (const [letter, size] of startupOutput.runs) {
        this.write(bytes.subarray(at, at + size).toString('utf8'), letter);
        at += size;
      }
    }
    output.onWrite = (text, letter) => this.write(text, letter);
  }

  write(text, letter) {
    if (!text || this.res.writableEnded) return;
    const stream = letter === 'e' ? 'stderr' : 'stdout';
    this.res.write(`${JSON.stringify({ type: 'output', stream, text })}\n`);
    // Sent now rather than on the next tick, which a synchronous handler holds back.
    this.res.socket?.uncork();
  }

  finish(status, headers, payload) {
    this.output.onWrite = undefined; // what a timed-out handler writes later goes to the logs only
    const body = payload.toString('base64');
    this.res.end(`${JSON.stringify({ type: 'result', status, headers, body })}\n`);
  }
}

function main() {
  const directory = process.env.HKS_FUNCTION_DIR || DEFAULT_DIR;
  const spec = process.env.HKS_HANDLER || '';
  const rawTimeout = process.env.HKS_TIMEOUT_SECONDS || '30';
  const rawPort = process.env.PORT || '8080';
  const timeout = Number(rawTimeout);
  if (!(timeout > 0)) {
    process.stderr.write(
      `hks: HKS_TIMEOUT_SECONDS: given "${rawTimeout}", expected a positive number of seconds\n`,
    );
    process.exitCode = 2;
    return;
  }
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) {
    process.stderr.write(
      `hks: PORT: given "${rawPort}", expected a port number (0: any free port)\n`,
    );
    process.exitCode = 2;
    return;
  }
  const rawMaxRequest = process.env.HKS_MAX_REQUEST_BYTES || String(DEFAULT_MAX_REQUEST_BYTES);
  const maxRequestBytes = Number(rawMaxRequest);
  if (!/^\d+$/.test(rawMaxRequest) || maxRequestBytes < 1) {
    process.stderr.write(
      `hks: HKS_MAX_REQUEST_BYTES: given "${rawMaxRequest}", expected a positive number of bytes\n`,
    );
    process.exitCode = 2;
    return;
  }
  const name = process.env.HKS_FUNCTION_NAME || spec;
  const debug = ['1', 'true'].includes(process.env.HKS_DEBUG ?? '');
  const once = sessionOnceSetting();
  if (once === undefined) {
    process.exitCode = 2;
    return;
  }
  const session = process.env.HKS_RUNTIME_MODE === 'session' ? sessionSettings(once) : null;
  if (session === undefined) {
    process.exitCode = 2;
    return;
  }
  const startupOutput = new OutputBuffer();
  const loadStarted = Date.now();
  outputCapture
    // A session's code comes with each request: the revision's module is not loaded.
    .run(startupOutput, () => (session ? Promise.resolve(undefined) : loadHandler(directory, spec)))
    .then(
      (handler) =>
        serve({
          handler,
          name,
          timeout,
          debug,
          port,
          spec,
          startupOutput,
          maxRequestBytes,
          session,
          // The handler's load time, told with the instance's first answer (cold start).
          initMs: session ? undefined : Date.now() - loadStarted,
        }),
      (error) => {
        process.stderr.write(
          `hks: cannot start: ${error instanceof LoadError ? error.message : error.stack}\n`,
        );
        process.exitCode = 1;
      },
    );
}

function serve({
  handler,
  name,
  timeout,
  debug,
  port,
  spec,
  startupOutput,
  maxRequestBytes,
  session,
  initMs,
}) {
  let unclaimedStartupOutput = startupOutput;
  let unclaimedInitMs = initMs;
  let draining = false;
  let served = false; // a first invocation is a cold start (faas.coldstart)
  const send = (res, status, headers, payload) => {
    const connection = draining ? { Connection: 'close' } : {};
    res.writeHead(status, { ...headers, ...connection, 'Content-Length': payload.length });
    res.end(payload);
  };
  const sendJson = (res, status, value, headers = {}) =>
    send(
      res,
      status,
      { 'Content-Type': 'application/json', ...headers },
      Buffer.from(JSON.stringify(value)),
    );

  const invoke = async (req, res, body) => {
    const started = Date.now();
    const requestId = req.headers['x-request-id'] || randomBytes(8).toString('hex');
    let call;
    if (session) {
      call = openSessionCall(req, body, session, timeout);
      if (call.refused) {
        const [status, type, message] = call.refused;
        sendJson(res, status, { error: { type, message } }, { 'X-Request-Id': requestId });
        log({ level: 'error', message: 'request refused', function: name, requestId, status });
        return;
      }
    }
    const limit = call?.timeoutSeconds ?? timeout;
    const trace = traceOf(req.headers); // its log lines name the trace and span
    const deadline = started + limit * 1000;
    const logger = Object.fromEntries(
      ['debug', 'info', 'warn', 'error'].map((level) => [
        level,
        (message, fields = {}) =>
          log({ function: name, requestId, ...trace, level, message: String(message), ...fields }),
      ]),
    );
    const context = {
      functionName: name,
      requestId,
      deadline,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      logger,
      // A run of a schedule: { cron: faas.cron, time: faas.time }; null for other calls.
      timer:
        req.headers['x-hks-faas-trigger'] === 'timer'
          ? { cron: req.headers['x-hks-faas-cron'], time: req.headers['x-hks-faas-time'] }
          : null,
      // A CloudEvent's attributes (an event trigger's message: id, source, type, subject...);
      // the event's data is the handler's event. null for other calls.
      cloudEvent: cloudEventOf(req.headers),
    };
    const record = { level: 'info', message: 'invocation', function: name, requestId, ...trace };
    const tail = String(req.headers['x-hks-log'] ?? '').toLowerCase() === 'tail';
    const streamed = String(req.headers[STREAM_HEADER] ?? '').toLowerCase() === 'ndjson';
    const output = tail || streamed ? new OutputBuffer() : undefined;
    let files;
    if (call || String(req.headers[FILES_HEADER] ?? '').toLowerCase() === 'envelope') {
      try {
        files = call ? call.files : openFilesEnvelope(body);
      } catch (error) {
        if (!(error instanceof RequestError)) throw error;
        sendJson(
          res,
          400,
          { error: { type: 'InvalidRequest', message: error.message } },
          { 'X-Request-Id': requestId },
        );
        log({
          level: 'error',
          message: 'request refused',
          function: name,
          requestId,
          status: 400,
          error: error.message,
        });
        return;
      }
      // One process-wide directory and variables: execute-once invokes a function once.
      process.env.HKS_INPUT_DIR = path.join(files.run, 'input');
      process.env.HKS_OUTPUT_DIR = path.join(files.run, 'output');
      process.chdir(files.run);
    }
    const stream = streamed
      ? new OutputStream(res, requestId, output, unclaimedStartupOutput)
      : undefined;
    let response;
    try {
      const event = files ? files.event : parseEvent(body);
      const result = await outputCapture.run(output, () =>
        runHandler(
          call ? loadSessionHandler(call, session) : handler,
          event,
          context,
          limit * 1000,
        ),
      );
      if (result === TIMED_OUT || Date.now() > deadline) {
        record.level = 'error';
        record.error = `timed out after ${limit}s`;
        response = jsonResponse(504, {
          error: {
            type: 'Timeout',
            message: `the function did not finish within ${limit} seconds`,
          },
        });
      } else {
        response = toResponse(result);
      }
    } catch (error) {
      const type = (error && error.name) || typeof error;
      const message = error instanceof Error ? error.message : String(error);
      const stack = error instanceof Error ? error.stack : String(error);
      record.level = 'error';
      record.error = { type, message, stack };
      response = jsonResponse(500, { error: debug ? { type, message, stack } : { type, message } });
    }
    const [status, handlerHeaders, handlerPayload] = response;
    const [headers, payload] = files
      ? filesAnswer(handlerHeaders, handlerPayload, files.run, files.limits, call !== undefined)
      : [handlerHeaders, handlerPayload];
    const finished = {
      ...record,
      status,
      durationMs: Date.now() - started,
      time: Date.now() / 1000,
    };
    const extra = { 'X-Request-Id': requestId };
    if (unclaimedInitMs !== undefined) {
      extra[INIT_HEADER] = unclaimedInitMs.toFixed(1);
      unclaimedInitMs = undefined;
    }
    if (tail) {
      const outputs = [unclaimedStartupOutput, output].filter((o) => o !== undefined);
      unclaimedStartupOutput = undefined;
      const value = logTail(outputs, finished);
      if (value !== undefined) extra['X-Hks-Log-Result'] = value;
      const streams = logStreams(outputs);
      if (streams !== undefined) extra['X-Hks-Log-Streams'] = streams;
    }
    if (trace) {
      extra[SPAN_HEADER] = spanHeader(trace, started, !served);
      served = true;
    }
    try {
      if (stream) stream.finish(status, { ...headers, ...extra }, payload);
      else send(res, status, { ...headers, ...extra }, payload);
    } catch (error) {
      // Nothing the handler returns should get here (toResponse checks it); if it does, this
      // caller still gets an answer and the process keeps serving.
      finished.status = 500;
      finished.level = 'error';
      finished.error = { type: 'InvalidResponse', message: String(error && error.message) };
      if (!res.headersSent) {
        sendJson(res, 500, { error: finished.error }, { 'X-Request-Id': requestId });
      } else res.destroy();
    }
    log(finished);
  };

  let inFlight = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url.split('?')[0] === '/healthz') {
      sendJson(res, 200, { status: 'ok', function: name });
      return;
    }
    if (req.method !== 'POST') {
      sendJson(
        res,
        405,
        {
          error: {
            type: 'MethodNotAllowed',
            message: 'use POST to invoke, GET /healthz for health',
          },
        },
        { Allow: 'POST' },
      );
      return;
    }
    const tooLarge = () => {
      // The rest of the body is not kept: the connection closes after this answer.
      const message = `the request body is over HKS_MAX_REQUEST_BYTES (${maxRequestBytes} bytes)`;
      const requestId = req.headers['x-request-id'] || randomBytes(8).toString('hex');
      const headers = { Connection: 'close', 'X-Request-Id': requestId };
      sendJson(res, 413, { error: { type: 'PayloadTooLarge', message } }, headers);
      log({
        level: 'error',
        message: 'request refused',
        function: name,
        requestId,
        status: 413,
        error: message,
      });
    };
    if (Number(req.headers['content-length']) > maxRequestBytes) {
      tooLarge();
      req.resume();
      return;
    }
    inFlight++;
    const chunks = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk) => {
      if (refused) return;
      size += chunk.length;
      if (size <= maxRequestBytes) return void chunks.push(chunk);
      refused = true;
      chunks.length = 0;
      inFlight--;
      tooLarge();
    });
    req.on('end', () => {
      if (refused) return;
      invoke(req, res, Buffer.concat(chunks))
        .catch((error) => {
          log({
            level: 'error',
            message: 'invocation failed',
            function: name,
            error: String(error),
          });
          if (!res.headersSent)
            sendJson(res, 500, {
              error: { type: 'Internal', message: 'the runtime failed to answer' },
            });
        })
        .finally(() => inFlight--);
    });
  });
  server.keepAliveTimeout = 60_000;

  const drain = (signal) => {
    log({ level: 'info', message: 'draining', function: name, signal, inFlight });
    // Stops accepting and closes idle connections; busy ones close after their response.
    server.close(() => {
      log({ level: 'info', message: 'stopped', function: name });
      process.exit(0);
    });
    draining = true;
    server.closeIdleConnections();
  };
  process.once('SIGTERM', () => drain('SIGTERM'));
  process.once('SIGINT', () => drain('SIGINT'));
  server.listen(port, () => {
    const { port: bound } = server.address();
    log({ level: 'info', message: 'listening', function: name, port: bound, handler: spec });
  });
}

main();
