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
 *   PORT                 port to listen on                    (default 8080)
 *
 * GET /healthz answers 200 once the handler is loaded; POST to any path invokes
 * handler(event, context), which may return a value or a Promise. Past the timeout the caller
 * gets a 504 and the server goes on serving; the handler's Promise is abandoned, not cancelled.
 * A handler that blocks the event loop with synchronous CPU work cannot be preempted: its
 * caller gets the 504 when it returns, and other requests wait meanwhile.
 *
 * A request with the header "X-Hks-Log: tail" gets the invocation's output back in the response
 * header "X-Hks-Log-Result" (base64 of UTF-8 lines, as they appear in the logs): what the handler
 * wrote to stdout and stderr within its async context (console.* included), the invocation's own
 * JSON record last, and before them, for the first such request only, what the module wrote
 * while loading. The header is left out when that output exceeds 8 KiB; the logs have all of it.
 */
const http = require('node:http');
const { AsyncLocalStorage } = require('node:async_hooks');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { existsSync, readdirSync } = require('node:fs');
const { pathToFileURL } = require('node:url');

const DEFAULT_DIR = '/var/hks/function';
const LOG_TAIL_LIMIT = 8192; // bytes of output a response header carries at most

/** Output kept for a log tail, up to LOG_TAIL_LIMIT bytes; past that it only notes overflow. */
class OutputBuffer {
  parts = [];
  size = 0;
  overflowed = false;

  add(chunk) {
    if (this.overflowed) return;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    this.size += Buffer.byteLength(text);
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
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    outputCapture.getStore()?.add(chunk);
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
    exported = require(base);
  } catch (error) {
    if (error.code === 'ERR_REQUIRE_ESM') {
      exported = await import(pathToFileURL(require.resolve(base)).href);
    } else if (error.code === 'MODULE_NOT_FOUND' && existsSync(`${base}.mjs`)) {
      exported = await import(pathToFileURL(`${base}.mjs`).href);
    } else if (error.code === 'MODULE_NOT_FOUND' && !isFound(base)) {
      const files = safeList(directory);
      throw new LoadError(
        `HKS_HANDLER: given "${spec}", but there is no file "${file}" (.js, .cjs, .mjs or ${file}/index.js) in ${directory} (files: ${files})`,
      );
    } else {
      throw new LoadError(`file "${file}" failed to load: ${error.stack || error}`);
    }
  }
  const handler = exported[name] ?? exported.default?.[name];
  if (typeof handler !== 'function') {
    const names = Object.keys(exported).filter((k) => typeof exported[k] === 'function');
    throw new LoadError(
      `HKS_HANDLER: given "${spec}", but "${file}" exports no function "${name}" (functions: ${names.join(', ') || 'none'})`,
    );
  }
  return handler;
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

/** [status, headers, bytes] of a handler's return value. */
function toResponse(result) {
  if (result !== null && typeof result === 'object' && 'statusCode' in result) {
    const [payload, contentType] = encodeBody(result.body ?? '');
    const headers = { ...(result.headers ?? {}) };
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = contentType;
    }
    return [Number(result.statusCode), headers, payload];
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
  const name = process.env.HKS_FUNCTION_NAME || spec;
  const debug = ['1', 'true'].includes(process.env.HKS_DEBUG ?? '');
  const startupOutput = new OutputBuffer();
  outputCapture
    .run(startupOutput, () => loadHandler(directory, spec))
    .then(
      (handler) => serve({ handler, name, timeout, debug, port, spec, startupOutput }),
      (error) => {
        process.stderr.write(
          `hks: cannot start: ${error instanceof LoadError ? error.message : error.stack}\n`,
        );
        process.exitCode = 1;
      },
    );
}

function serve({ handler, name, timeout, debug, port, spec, startupOutput }) {
  let unclaimedStartupOutput = startupOutput;
  let draining = false;
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
    const deadline = started + timeout * 1000;
    const logger = Object.fromEntries(
      ['debug', 'info', 'warn', 'error'].map((level) => [
        level,
        (message, fields = {}) =>
          log({ function: name, requestId, level, message: String(message), ...fields }),
      ]),
    );
    const context = {
      functionName: name,
      requestId,
      deadline,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      logger,
    };
    const record = { level: 'info', message: 'invocation', function: name, requestId };
    const tail = String(req.headers['x-hks-log'] ?? '').toLowerCase() === 'tail';
    const output = tail ? new OutputBuffer() : undefined;
    let response;
    try {
      const result = await outputCapture.run(output, () =>
        runHandler(handler, parseEvent(body), context, timeout * 1000),
      );
      if (result === TIMED_OUT || Date.now() > deadline) {
        record.level = 'error';
        record.error = `timed out after ${timeout}s`;
        response = jsonResponse(504, {
          error: {
            type: 'Timeout',
            message: `the function did not finish within ${timeout} seconds`,
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
    const [status, headers, payload] = response;
    const finished = {
      ...record,
      status,
      durationMs: Date.now() - started,
      time: Date.now() / 1000,
    };
    const extra = { 'X-Request-Id': requestId };
    if (tail) {
      const outputs = [unclaimedStartupOutput, output].filter((o) => o !== undefined);
      unclaimedStartupOutput = undefined;
      const value = logTail(outputs, finished);
      if (value !== undefined) extra['X-Hks-Log-Result'] = value;
    }
    send(res, status, { ...headers, ...extra }, payload);
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
    inFlight++;
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      invoke(req, res, Buffer.concat(chunks)).finally(() => inFlight--);
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
