"""HKS function runtime for Python (3.9+, standard library only).

Serves one handler over HTTP. Configured by environment variables:

  HKS_FUNCTION_DIR      folder holding the function's code   (default /var/hks/function)
  HKS_HANDLER           module.function, e.g. main.handler   (required)
  HKS_FUNCTION_NAME     name reported in context and logs    (default: the handler)
  HKS_TIMEOUT_SECONDS   per-invocation time limit            (default 30)
  HKS_DEBUG             1: error responses include the stack (default off)
  HKS_MAX_REQUEST_BYTES largest request body, in bytes       (default 6291456, 6 MiB)
  PORT                  port to listen on                    (default 8080)
  HKS_RUNTIME_MODE      "session": an agent session's function (see session_settings)
  HKS_SESSION_ONCE      1: one execution per instance, session mode only (default 0; see open_session_call)

GET /healthz answers 200 once the handler is loaded; POST to any path invokes it with
handler(event, context), or handler(event) when it takes no second positional parameter (nor
*args). A handler the runtime cannot call so (no positional parameter, more than two without a
default, a keyword-only one without a default) stops the start with an error naming it and
SIGNATURES, the accepted signatures. Sync handlers run in a thread of their own, async ones in an event
loop in that thread, so a handler past its timeout gets a 504 while the server goes on serving.
An async handler is cancelled at the timeout; a sync one cannot be stopped and runs on in the
background (its result is discarded). Request bodies come with Content-Length or chunked
(Transfer-Encoding: chunked); one over HKS_MAX_REQUEST_BYTES is answered 413 without invoking.
A response the handler asks for that HTTP cannot carry (a statusCode that is not an integer from
200 to 599, a header name that is not a token, a header value with CR, LF or NUL) is answered
500 InvalidResponse instead.

A request with the header "X-Hks-Log: tail" gets the invocation's output back in the response
header "X-Hks-Log-Result" (base64 of UTF-8 lines, as they appear in the logs): what the handler's
thread wrote to stdout and stderr, the invocation's own JSON record last, and before them, for
the first such request only, what the module wrote while loading. The header is left out when
that output exceeds 8 KiB; the logs have all of it. Beside it, "X-Hks-Log-Streams" says which
stream each part of that output went to, even when the output itself is left out: runs of
"o<bytes>" (stdout) and "e<bytes>" (stderr) in order, comma-separated (left out past 4 KiB).

A request with the header "X-Hks-Files: envelope" (execute-once) carries files: its body is
{"event", "inputFiles": {path: {"text"} | {"base64"}}, "outputLimits": {"maxFiles",
"maxFileBytes", "maxTotalBytes"}}. The handler gets the event and runs in a fresh working
directory holding input/ (the input files) and output/ (empty), also named by the variables
HKS_INPUT_DIR and HKS_OUTPUT_DIR. Its answer is the JSON {"contentType", "body" (base64),
"outputFiles", "omittedFiles"} with the same status and "X-Hks-Files: envelope": the regular
files under output/, text when they are UTF-8 and base64 otherwise, within the limits in path
order; a symlink is never followed (listed as omitted), nor a file over a limit. The folder is
removed after the answer.

A request with the header "X-Hks-Stream: ndjson" gets its answer streamed (see OutputStream): a
200 of NDJSON lines, the handler's output as it is written, then the answer it would have got.
"""

import base64
import importlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_DIR = "/var/hks/function"
LOG_TAIL_HEADER = "X-Hks-Log"
LOG_RESULT_HEADER = "X-Hks-Log-Result"
LOG_STREAMS_HEADER = "X-Hks-Log-Streams"
LOG_TAIL_LIMIT = 8192  # bytes of output a response header carries at most
LOG_STREAMS_LIMIT = 4096  # bytes of the stream runs' header at most
FILES_HEADER = "X-Hks-Files"  # "envelope": files in the request and the answer
STREAM_HEADER = "X-Hks-Stream"  # "ndjson": output as it is written, then the answer
INIT_HEADER = "X-Hks-Init-Ms"  # on an instance's first answer: the handler's load time (cold start)
MAX_OUTPUT_ENTRIES = 10000  # entries of the output folder looked at, at most
DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*\Z")
FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection"}  # the runtime's own
# The same text as HANDLER_SIGNATURES["python3.12"] of constructs/function-rules.ts.
SIGNATURES = "handler(event) or handler(event, context), def or async def (further positional parameters need defaults; *args and **kwargs are fine)"


class OutputBuffer:
    """Output kept for a log tail, up to LOG_TAIL_LIMIT bytes; past that it only notes overflow."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.overflowed = False
        self.runs = []  # [stream letter, bytes] of consecutive writes to one stream, kept past the limit
        self.on_write = None  # called with each write as it happens (a streamed answer)

    def add(self, text, stream="o"):
        if self.on_write is not None:
            self.on_write(text, stream)
        size = len(text.encode("utf-8", "replace"))
        if self.runs and self.runs[-1][0] == stream:
            self.runs[-1][1] += size
        elif size:
            self.runs.append([stream, size])
        if self.overflowed:
            return
        self.size += size
        if self.size > LOG_TAIL_LIMIT:
            self.overflowed = True
            self.parts = []
        else:
            self.parts.append(text)

    def text(self):
        return "".join(self.parts)


class CapturingStream:
    """A stdout/stderr wrapper that also copies the current thread's writes to its buffer."""

    local = threading.local()

    def __init__(self, stream, letter):
        self._stream = stream
        self._letter = letter  # "o" stdout, "e" stderr

    def write(self, text):
        buffer = getattr(CapturingStream.local, "buffer", None)
        if buffer is not None:
            buffer.add(text, self._letter)
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)

    @staticmethod
    def capture_into(buffer):
        """Copies this thread's output into buffer from now on (None: stops copying)."""
        CapturingStream.local.buffer = buffer


class OutputStream:
    """The streamed answer of a request with "X-Hks-Stream: ndjson": a 200 of NDJSON lines sent
    (chunked) as they come, {"type": "output", "stream": "stdout" | "stderr", "text"} for each
    write of the handler's thread (after what the module wrote while loading, when that is still
    unclaimed), then one {"type": "result", "status", "headers", "body" (base64)}: the answer the
    request would have got without the header, log tail and files envelope included."""

    def __init__(self, request, request_id, output, startup_output):
        self._wfile = request.wfile
        self._output = output
        self._lock = threading.Lock()  # the handler's thread writes, the request's finishes
        self._open = True
        request.send_response(200)
        for key, value in (
            ("Content-Type", "application/x-ndjson"),
            ("Cache-Control", "no-store"),
            ("Transfer-Encoding", "chunked"),
            ("X-Request-Id", request_id),
            (STREAM_HEADER, "ndjson"),
        ):
            request.send_header(key, value)
        request.end_headers()
        if startup_output is not None and not startup_output.overflowed:
            data, at = startup_output.text().encode("utf-8", "replace"), 0
            for letter, size in startup_output.runs:
                self.write(data[at : at + size].decode("utf-8", "replace"), letter)
                at += size
        output.on_write = self.write

    def _send(self, record, last=False):
        data = (json.dumps(record) + "\n").encode("utf-8")
        with self._lock:
            if not self._open:
                return
            try:
                self._wfile.write(b"%x\r\n%s\r\n%s" % (len(data), data, b"0\r\n\r\n" if last else b""))
            except OSError:  # the caller went; the output still reaches the logs
                last = True
            self._open = not last

    def write(self, text, letter):
        if text:
            self._send({"type": "output", "stream": "stderr" if letter == "e" else "stdout", "text": text})

    def finish(self, status, headers, payload):
        self._output.on_write = None  # what a timed-out handler writes later goes to the logs only
        body = base64.b64encode(payload).decode("ascii")
        self._send({"type": "result", "status": status, "headers": headers, "body": body}, last=True)


def log_tail(outputs, record):
    """The X-Hks-Log-Result value: outputs and the record as log lines, or None past the limit."""
    if any(o.overflowed for o in outputs):
        return None
    text = "".join(o.text() for o in outputs)
    if text and not text.endswith("\n"):
        text += "\n"
    text += json.dumps(record, default=str) + "\n"
    data = text.encode("utf-8", "replace")
    if len(data) > LOG_TAIL_LIMIT:
        return None
    return base64.b64encode(data).decode("ascii")


def log_streams(outputs):
    """The X-Hks-Log-Streams value: the outputs' stream runs in order, or None when too long."""
    runs = []
    for output in outputs:
        for letter, size in output.runs:
            if runs and runs[-1][0] == letter:
                runs[-1][1] += size
            else:
                runs.append([letter, size])
    value = ",".join("%s%d" % (letter, size) for letter, size in runs)
    return value if len(value) <= LOG_STREAMS_LIMIT else None


def log(record):
    """Writes one JSON line to stdout."""
    record.setdefault("time", round(time.time(), 3))
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


class Logger:
    """The context's logger: JSON lines tagged with the function and request id."""

    def __init__(self, function_name, request_id):
        self._fields = {"function": function_name, "requestId": request_id}

    def _log(self, level, message, fields):
        log(dict(self._fields, level=level, message=str(message), **fields))

    def debug(self, message, **fields):
        self._log("debug", message, fields)

    def info(self, message, **fields):
        self._log("info", message, fields)

    def warning(self, message, **fields):
        self._log("warning", message, fields)

    def error(self, message, **fields):
        self._log("error", message, fields)


class Context:
    """What a handler knows about its invocation."""

    def __init__(self, function_name, request_id, deadline, timer=None, cloud_event=None):
        self.function_name = function_name
        self.request_id = request_id
        self.deadline = deadline  # seconds since the epoch
        # A run of a schedule: {"cron": faas.cron, "time": faas.time}; None for other calls.
        self.timer = timer
        # A CloudEvent's attributes (an event trigger's message: id, source, type, subject...);
        # the event's data is the handler's event. None for other calls.
        self.cloud_event = cloud_event
        self.logger = Logger(function_name, request_id)

    def remaining_seconds(self):
        return max(0.0, self.deadline - time.time())


def timer_of(headers):
    """The schedule's attributes the platform sends with a timer call (x-hks-faas-*), or None."""
    if (headers.get("X-Hks-Faas-Trigger") or "") != "timer":
        return None
    return {"cron": headers.get("X-Hks-Faas-Cron"), "time": headers.get("X-Hks-Faas-Time")}


def cloud_event_of(headers):
    """A binary-mode CloudEvent's attributes: its ce-* headers without the prefix, and its
    content type as datacontenttype; None when the request carries none."""
    attributes = {name[3:].lower(): value for name, value in headers.items() if name.lower().startswith("ce-")}
    if not attributes:
        return None
    if headers.get("Content-Type"):
        attributes["datacontenttype"] = headers.get("Content-Type")
    return attributes


TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})\Z")
SPAN_HEADER = "X-Hks-Span"  # the invocation's span, which the API exports (api/tracing-invoke.ts)


def trace_of(headers):
    """The invocation's span in the caller's W3C trace: {"trace_id", "span_id"}, or None."""
    match = TRACEPARENT.match((headers.get("traceparent") or "").strip())
    if not match or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return {"trace_id": match.group(1), "span_id": os.urandom(8).hex()}


def span_header(trace, started, coldstart):
    """The X-Hks-Span value: span id, start and end in µs since the epoch, cold start."""
    return "%s;start=%d;end=%d;coldstart=%s" % (trace["span_id"], int(started * 1e6), int(time.time() * 1e6), "true" if coldstart else "false")


class LoadError(Exception):
    pass


def load_handler(directory, spec):
    """Imports module.function from directory, or raises LoadError saying what is wrong."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        raise LoadError(
            'HKS_HANDLER: given "%s", expected module.function, e.g. main.handler' % spec
        )
    if not os.path.isdir(directory):
        raise LoadError("HKS_FUNCTION_DIR: given %s, which is not a folder" % directory)
    sys.path.insert(0, directory)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name):
            raise LoadError(
                'HKS_HANDLER: given "%s", but there is no module "%s" in %s (files: %s)'
                % (spec, module_name, directory, ", ".join(sorted(os.listdir(directory))))
            )
        raise LoadError('module "%s" failed to import: %r' % (module_name, error))
    except Exception as error:  # a syntax error or an exception at import time
        raise LoadError('module "%s" failed to import: %r' % (module_name, error))
    handler = getattr(module, function_name, None)
    if not callable(handler):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        raise LoadError(
            'HKS_HANDLER: given "%s", but module "%s" has no function "%s" (functions: %s)'
            % (spec, module_name, function_name, ", ".join(names) or "none")
        )
    return handler


def parameters_of(handler):
    """(positional, required, rest, required keyword-only names) of the handler's parameters,
    or None when Python cannot tell (a builtin without a signature)."""
    code = getattr(handler, "__code__", None)
    if code is not None and type(handler).__name__ == "function" and not hasattr(handler, "__wrapped__"):
        # A plain def or lambda: read from its code object, without importing inspect (~20 ms).
        positional = code.co_argcount
        keyword_only = code.co_varnames[positional : positional + code.co_kwonlyargcount]
        keyword_defaults = handler.__kwdefaults__ or {}
        return (
            positional,
            positional - len(handler.__defaults__ or ()),
            bool(code.co_flags & 0x04),  # CO_VARARGS
            [n for n in keyword_only if n not in keyword_defaults],
        )
    import inspect

    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return (
        len(positional),
        len([p for p in positional if p.default is p.empty]),
        any(p.kind == p.VAR_POSITIONAL for p in params),
        [p.name for p in params if p.kind == p.KEYWORD_ONLY and p.default is p.empty],
    )


def passes_context(handler, spec):
    """Whether the handler takes the context (a second positional parameter, or *args); raises
    LoadError, naming the handler and SIGNATURES, when it can take neither call."""
    parameters = parameters_of(handler)
    if parameters is None:
        return True  # called as handler(event, context), as it always was
    positional, required, rest, required_keyword = parameters
    if required_keyword:
        reason = "keyword-only %s without a default, which no call passes" % ", ".join(required_keyword)
    elif positional == 0 and not rest:
        reason = "no positional parameter to take the event"
    elif required > 2:
        reason = "%d positional parameters without a default, more than event and context" % required
    else:
        return positional >= 2 or rest
    import inspect

    text = str(inspect.signature(handler).replace(return_annotation=inspect.Signature.empty))[1:-1]
    raise LoadError("handler %s is defined as (%s): %s; expected %s" % (json.dumps(spec), text, reason, SIGNATURES))


class RequestError(Exception):
    """A request the runtime answers itself, without invoking: (status, type, message)."""

    def __init__(self, status, kind, message):
        Exception.__init__(self, message)
        self.status, self.kind, self.message = status, kind, message


class InvalidResponse(Exception):
    """A handler's answer that HTTP cannot carry."""


SESSION_HEADER = "X-Hks-Session-Secret"  # session mode: only the API may load code
MIN_SESSION_SECRET_LENGTH = 32  # characters (hex of 128 bits)
# The same text as INSTANCE_USED_MESSAGE of runtimes/node/bootstrap.js.
INSTANCE_USED_MESSAGE = "this runtime instance has run its one execution (HKS_SESSION_ONCE=1); the platform starts a new one for the next"


def session_once_setting():
    """HKS_SESSION_ONCE: True for "1", False when unset, empty or "0"; None after reporting any
    other value. Checked in every mode, though only session mode uses it."""
    raw = os.environ.get("HKS_SESSION_ONCE", "")
    if raw in ("", "0", "1"):
        return raw == "1"
    sys.stderr.write('hks: HKS_SESSION_ONCE: given "%s", expected 1 (one execution per instance, HKS_RUNTIME_MODE=session), or 0, empty or unset (no limit)\n' % raw)
    return None


def session_settings(once=False):
    """Session mode (HKS_RUNTIME_MODE=session): the function of an agent session, whose revision
    carries no code of its own. Each POST must carry "X-Hks-Session-Secret" equal to
    HKS_SESSION_SECRET (compared in constant time; the variable is removed from the environment
    at start), or it is answered 403 and nothing runs. Its body is the files envelope plus "code"
    (a module's source), "handler" (module.function, default main.handler) and "timeoutSeconds"
    (at most HKS_TIMEOUT_SECONDS): the code runs as a fresh module object for that call only
    (no module of an earlier call is reused, nor its globals) and is called as any handler. The
    working directory is the session folder (HKS_SESSION_DIR, default a new folder under the
    temporary directory), which
    keeps its files between calls; its input/ and output/ are those of the files envelope,
    emptied after each answer. Returns the secret's digest, the session folder and a folder for
    the calls' modules; None after reporting a bad setting. once: HKS_SESSION_ONCE=1, one
    execution per instance (see open_session_call)."""
    import hashlib
    import tempfile

    secret = os.environ.pop("HKS_SESSION_SECRET", "")
    if len(secret) < MIN_SESSION_SECRET_LENGTH:
        sys.stderr.write("hks: HKS_SESSION_SECRET: given %d characters, expected at least %d (HKS_RUNTIME_MODE=session)\n" % (len(secret), MIN_SESSION_SECRET_LENGTH))
        return None
    # A folder of this process's own: processes of a host may share its temporary directory.
    folder = os.environ.get("HKS_SESSION_DIR") or tempfile.mkdtemp(prefix="hks-session-")
    os.makedirs(folder, exist_ok=True)
    os.environ["HKS_SESSION_DIR"] = folder
    return {
        "secret": hashlib.sha256(secret.encode("utf-8")).digest(),
        "folder": folder,
        "code_root": tempfile.mkdtemp(prefix="hks-session-code-"),
        "calls": 0,
        "modules": set(),  # names this mode put in sys.modules
        "once": once,
        "used": False,  # once: a request with the valid secret has come
        "used_lock": threading.Lock(),  # the server's threads check and set "used" as one step
    }


def open_session_call(headers, body, session, max_timeout):
    """(event, limits, run folder, call) of a session request: the files envelope opened in the
    session folder (fresh input/ and output/), the call's code, handler and timeout; raises
    RequestError 403 without the session's secret, 400 for a body that is not a session envelope.

    With HKS_SESSION_ONCE=1 the instance serves one execution ever, so that nothing one leaves
    behind (a file, a global, a thread) meets another's code: the instance is used once a request
    with the valid secret arrives, whatever follows (a 400 for its envelope included, to be safe),
    and every later request, valid secret or not, still running or not, is answered 409
    InstanceUsed without loading anything. A request refused 403 does not use it up."""
    import hashlib
    import hmac

    given = (headers.get(SESSION_HEADER) or "").encode("utf-8")
    with session["used_lock"]:
        if session["used"]:
            raise RequestError(409, "InstanceUsed", INSTANCE_USED_MESSAGE)
        if not given or not hmac.compare_digest(hashlib.sha256(given).digest(), session["secret"]):
            raise RequestError(403, "Forbidden", "this session function runs code only for the HKS API: the request has no valid %s header" % SESSION_HEADER.lower())
        session["used"] = session["once"]
    try:
        envelope = json.loads(body or b"null")
    except (ValueError, RecursionError):
        envelope = None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), str):
        raise RequestError(400, "InvalidRequest", "the body is not a session envelope; expected a JSON object {code, handler, event, inputFiles, outputLimits, timeoutSeconds}")
    timeout = envelope.get("timeoutSeconds", max_timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= max_timeout:
        raise RequestError(400, "InvalidRequest", "timeoutSeconds: given %s, expected a number of seconds from 1 to %s" % (describe(timeout), max_timeout))
    call = {"code": envelope.pop("code"), "handler": str(envelope.pop("handler", None) or "main.handler"), "timeout": timeout}
    event, limits, opened = open_files_envelope(json.dumps(envelope).encode("utf-8"))
    # The files envelope's own folder only brought the input files: they move to the session's.
    for sub in ("input", "output"):
        shutil.rmtree(os.path.join(session["folder"], sub), ignore_errors=True)
    os.rename(os.path.join(opened, "input"), os.path.join(session["folder"], "input"))
    os.mkdir(os.path.join(session["folder"], "output"))
    shutil.rmtree(opened, ignore_errors=True)
    return event, limits, session["folder"], call


def session_handler(call, session):
    """A handler that first runs the call's code as a fresh module, in the handler's own thread
    (so within its timeout, its output captured), then calls its function as any handler."""

    def run(event, context):
        handler = load_session_code(call, session)
        return handler(event, context) if passes_context(handler, call["handler"]) else handler(event)

    return run


def load_session_code(call, session):
    """The handler of a session call's code, run as a new module object from a file of its own
    (tracebacks show its lines); raises LoadError. The module is in sys.modules under its name
    until the next call, unless that name is taken by another module (the standard library's)."""
    import types

    spec = call["handler"]
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise LoadError('handler: given "%s", expected module.function, e.g. main.handler' % spec)
    shutil.rmtree(os.path.join(session["code_root"], str(session["calls"])), ignore_errors=True)
    session["calls"] += 1
    path = os.path.join(session["code_root"], str(session["calls"]), *module_name.split(".")) + ".py"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(call["code"])
    module = types.ModuleType(module_name)
    module.__file__ = path
    if module_name in session["modules"] or module_name not in sys.modules:
        sys.modules[module_name] = module
        session["modules"].add(module_name)
    exec(compile(call["code"], path, "exec"), module.__dict__)
    handler = getattr(module, function_name, None)
    if not callable(handler):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        raise LoadError('handler: given "%s", but the code has no function "%s" (functions: %s)' % (spec, function_name, ", ".join(names) or "none"))
    return handler


def read_body(rfile, headers, limit):
    """The request body (Content-Length or chunked), at most limit bytes, or a RequestError."""
    too_large = RequestError(413, "PayloadTooLarge", "the request body is over HKS_MAX_REQUEST_BYTES (%d bytes)" % limit)
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        parts, size = [], 0
        while True:
            line = rfile.readline(1026)
            try:
                chunk = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise RequestError(400, "InvalidRequest", "a chunk size line of the chunked body is %r; expected hexadecimal digits" % line[:40])
            if chunk == 0:
                break
            size += chunk
            if size > limit:
                raise too_large
            data = rfile.read(chunk)
            if len(data) < chunk:
                raise RequestError(400, "InvalidRequest", "the chunked body ended within a chunk")
            parts.append(data)
            rfile.readline(3)  # the CRLF after the chunk
        for _ in range(100):  # trailer fields, up to the empty line
            if rfile.readline(8192) in (b"\r\n", b"\n", b""):
                break
        return b"".join(parts)
    raw = (headers.get("Content-Length") or "0").strip()
    if not raw.isdigit():
        raise RequestError(400, "InvalidRequest", "Content-Length is %r; expected a number of bytes" % raw[:40])
    if int(raw) > limit:
        raise too_large
    return rfile.read(int(raw)) if int(raw) > 0 else b""


def safe_relative(path):
    """Whether path is relative, of plain names, without "..", "." or empty names."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def open_files_envelope(body):
    """(event, limits, run folder) of a files envelope, the input files written to run/input;
    raises RequestError for an envelope that is not one."""
    try:
        envelope = json.loads(body or b"null")
    except (ValueError, RecursionError):
        envelope = None
    if not isinstance(envelope, dict):
        raise RequestError(400, "InvalidRequest", "the body is not a files envelope; expected a JSON object {event, inputFiles, outputLimits}")
    files = envelope.get("inputFiles") or {}
    limits = envelope.get("outputLimits") or {}
    if not isinstance(files, dict) or not isinstance(limits, dict):
        raise RequestError(400, "InvalidRequest", "inputFiles and outputLimits: expected objects")
    import tempfile

    run = tempfile.mkdtemp(prefix="hks-run-")
    try:
        os.mkdir(os.path.join(run, "input"))
        os.mkdir(os.path.join(run, "output"))
        for path, content in files.items():
            if not safe_relative(path):
                raise RequestError(400, "InvalidRequest", "inputFiles: given the path %s, expected a relative path without \"..\"" % describe(path))
            if isinstance(content, dict) and isinstance(content.get("text"), str):
                data = content["text"].encode("utf-8")
            elif isinstance(content, dict) and isinstance(content.get("base64"), str):
                data = base64.b64decode(content["base64"])
            else:
                raise RequestError(400, "InvalidRequest", "inputFiles[%s]: expected {text} or {base64}" % describe(path))
            target = os.path.join(run, "input", *path.split("/"))
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "xb") as handle:
                    handle.write(data)
            except OSError as error:
                raise RequestError(400, "InvalidRequest", "inputFiles[%s]: cannot be written: %s" % (describe(path), error.strerror))
    except BaseException:
        shutil.rmtree(run, ignore_errors=True)
        raise
    return envelope.get("event"), limits, run


def file_content(data):
    """{"text"} for UTF-8, {"base64"} for other bytes."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def collect_output(folder, limits):
    """(files, omitted) of the output folder: regular files within the limits, in path order.
    Walked by directory descriptors with O_NOFOLLOW, so that no symlink is followed, not even
    one swapped in while walking."""
    def limit(name, fallback):
        value = limits.get(name)
        return value if isinstance(value, int) and value >= 0 else fallback

    max_files, max_file, max_total = limit("maxFiles", 100), limit("maxFileBytes", 1 << 20), limit("maxTotalBytes", 1 << 20)
    files, omitted, found = {}, [], []
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    seen = [0]

    def walk(directory_fd, prefix):
        for name in sorted(os.listdir(directory_fd)):
            seen[0] += 1
            if seen[0] > MAX_OUTPUT_ENTRIES:
                return
            path = prefix + name
            try:
                fd = os.open(name, flags, dir_fd=directory_fd)
            except OSError as error:
                import errno

                omitted.append({"path": path, "reason": "symlink" if error.errno == errno.ELOOP else "not-a-file"})
                continue
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                try:
                    walk(fd, path + "/")
                finally:
                    os.close(fd)
            elif stat.S_ISREG(mode):
                found.append((path, fd))
            else:
                os.close(fd)
                omitted.append({"path": path, "reason": "not-a-file"})

    root = os.open(folder, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY)
    try:
        walk(root, "")
    finally:
        os.close(root)
    total = 0
    for path, fd in sorted(found):
        try:
            size = os.fstat(fd).st_size
            reason = "file-limit" if size > max_file else "count-limit" if len(files) >= max_files else "total-limit" if total + size > max_total else None
            if reason is None:
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    data = handle.read(max_file + 1)
                size = len(data)
                reason = "file-limit" if size > max_file else "total-limit" if total + size > max_total else None
            if reason is None:
                files[path] = file_content(data)
                total += size
            else:
                omitted.append({"path": path, "bytes": size, "reason": reason})
        finally:
            os.close(fd)
    return files, omitted


def files_answer(status, headers, payload, run, limits, keep=False):
    """(headers, bytes) of a files envelope's answer: the handler's body and the output files.
    keep: the folder stays (a session's), only its input/ and output/ go."""
    try:
        files, omitted = collect_output(os.path.join(run, "output"), limits)
    finally:
        os.chdir(os.path.dirname(run))  # out of the folder before it goes
        for gone in [os.path.join(run, "input"), os.path.join(run, "output")] if keep else [run]:
            shutil.rmtree(gone, ignore_errors=True)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    kept = {k: v for k, v in headers.items() if k.lower() not in ("content-type", FILES_HEADER.lower())}
    kept["Content-Type"] = "application/json"
    kept[FILES_HEADER] = "envelope"
    envelope = {
        "contentType": content_type,
        "body": base64.b64encode(payload).decode("ascii"),
        "outputFiles": files,
        "omittedFiles": omitted,
    }
    return kept, json.dumps(envelope).encode("utf-8")


def parse_event(body):
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        pass
    except RecursionError:
        raise RequestError(400, "InvalidRequest", "the body is JSON nested too deeply to parse; expected less nesting")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body


def encode_body(body):
    """Response bytes and content type of a handler's body value."""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body), "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    return json.dumps(body, default=str).encode("utf-8"), "application/json"


def describe(value):
    text = json.dumps(value, default=str) if isinstance(value, str) else repr(value)
    return text[:100] + "..." if len(text) > 100 else text


def status_of(value):
    """The status code a handler asked for: an integer (or its digits) from 200 to 599."""
    status = int(value) if isinstance(value, str) and len(value) == 3 and value.isdigit() else value
    if isinstance(status, int) and not isinstance(status, bool) and 200 <= status <= 599:
        return status
    raise InvalidResponse("the handler returned statusCode %s; expected an integer from 200 to 599" % describe(value))


def headers_of(value):
    """The handler's headers, checked: token names, values without CR, LF or NUL."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidResponse("the handler returned headers %s; expected a dict of name to value" % describe(value))
    headers = {}
    for name, raw in value.items():
        if not isinstance(name, str) or not HEADER_NAME.match(name):
            raise InvalidResponse("the handler returned the header name %s; expected an HTTP token (letters, digits and !#$%%&'*+-.^_`|~)" % describe(name))
        text = str(raw)
        if any(c in text for c in "\r\n\0"):
            raise InvalidResponse("the handler returned header %s with the value %s; expected a value without CR, LF or NUL" % (name, describe(text)))
        if not HEADER_VALUE.match(text) or any(ord(c) > 0xFF for c in text):
            raise InvalidResponse("the handler returned header %s with the value %s; expected visible ASCII, spaces and tabs" % (name, describe(text)))
        if name.lower() not in FRAMING_HEADERS:
            headers[name] = text
    return headers


def to_response(result):
    """(status, headers, bytes) of a handler's return value; raises InvalidResponse."""
    if isinstance(result, dict) and "statusCode" in result:
        status = status_of(result["statusCode"])
        headers = headers_of(result.get("headers"))
        payload, content_type = encode_body(result.get("body", ""))
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = content_type
        return status, headers, payload
    payload, content_type = encode_body(result)
    return 200, {"Content-Type": content_type}, payload


def run_handler(handler, event, context, timeout, output=None, with_context=True):
    """Runs the handler in its own thread. Returns ("ok", value), ("error", exc) or ("timeout",).

    What that thread writes to stdout and stderr is also copied to output (an OutputBuffer).
    with_context: called as handler(event, context), else handler(event).
    """
    outcome = []

    def target():
        CapturingStream.capture_into(output)
        try:
            result = handler(event, context) if with_context else handler(event)
            if hasattr(result, "__await__"):
                import asyncio

                async def bounded():
                    return await asyncio.wait_for(result, max(0.0, context.remaining_seconds()))

                try:
                    result = asyncio.run(bounded())
                except asyncio.TimeoutError:
                    outcome.append(("timeout",))
                    return
            outcome.append(("ok", result))
        except BaseException as error:  # noqa: B902 - reported to the caller
            outcome.append(("error", error))

    thread = threading.Thread(target=target, name="handler-" + context.request_id, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else ("timeout",)


def json_response(value):
    """(headers, bytes) of a JSON body."""
    return {"Content-Type": "application/json"}, json.dumps(value).encode("utf-8")


def make_request_handler(state):
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "hks-python"

        timeout = 60  # idle keep-alive connections are closed after a minute
        # Headers and body go out as two writes; with Nagle's algorithm the body waits for the
        # client's delayed ACK (~40 ms) on every reused keep-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # one JSON line per invocation instead
            pass

        def setup(self):
            BaseHTTPRequestHandler.setup(self)
            self.busy = False
            with state["lock"]:
                state["connections"].add(self)

        def finish(self):
            with state["lock"]:
                state["connections"].discard(self)
            BaseHTTPRequestHandler.finish(self)

        def handle_one_request(self):
            BaseHTTPRequestHandler.handle_one_request(self)
            if state["draining"]:
                self.close_connection = True

        def send(self, status, headers, payload):
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def send_json(self, status, value, extra=None):
            headers = {"Content-Type": "application/json"}
            headers.update(extra or {})
            self.send(status, headers, json.dumps(value).encode("utf-8"))

        def do_GET(self):
            if self.path.split("?")[0] == "/healthz":
                self.send_json(200, {"status": "ok", "function": state["name"]})
            else:
                self.send_json(405, {"error": {"type": "MethodNotAllowed", "message": "use POST to invoke, GET /healthz for health"}}, {"Allow": "POST"})

        def do_POST(self):
            self.busy = True
            try:
                self.invoke()
            finally:
                self.busy = False

        def invoke(self):
            started = time.time()
            request_id = self.headers.get("X-Request-Id") or os.urandom(8).hex()
            files_mode = (self.headers.get(FILES_HEADER) or "").lower() == "envelope"
            run = None
            call = None
            try:
                body = read_body(self.rfile, self.headers, state["max_request_bytes"])
                if state["session"] is not None:
                    event, limits, run, call = open_session_call(self.headers, body, state["session"], state["timeout"])
                elif files_mode:
                    event, limits, run = open_files_envelope(body)
                else:
                    event = parse_event(body)
            except RequestError as error:
                # What is left of the body is not read: the connection closes after this answer.
                self.close_connection = True
                self.send_json(error.status, {"error": {"type": error.kind, "message": error.message}}, {"Connection": "close", "X-Request-Id": request_id})
                log({"level": "error", "message": "request refused", "function": state["name"], "requestId": request_id, "status": error.status, "error": error.message})
                self.linger()
                return
            if run is not None:
                # One process-wide directory and variables: execute-once invokes a function once.
                os.environ["HKS_INPUT_DIR"] = os.path.join(run, "input")
                os.environ["HKS_OUTPUT_DIR"] = os.path.join(run, "output")
                os.chdir(run)
            limit = call["timeout"] if call else state["timeout"]
            context = Context(
                state["name"], request_id, started + limit, timer_of(self.headers), cloud_event_of(self.headers)
            )
            trace = trace_of(self.headers)
            context.logger._fields.update(trace or {})  # its log lines name the trace and span
            tail = (self.headers.get(LOG_TAIL_HEADER) or "").lower() == "tail"
            streamed = (self.headers.get(STREAM_HEADER) or "").lower() == "ndjson"
            output = OutputBuffer() if tail or streamed else None
            stream = OutputStream(self, request_id, output, state["startup_output"]) if streamed else None
            handler = session_handler(call, state["session"]) if call else state["handler"]
            outcome = run_handler(handler, event, context, limit, output, bool(call) or state["with_context"])
            record = {"level": "info", "message": "invocation", "function": state["name"], "requestId": request_id}
            record.update(trace or {})
            if outcome[0] == "ok":
                try:
                    status, headers, payload = to_response(outcome[1])
                except Exception as error:
                    status, headers, payload = self.error_response(error, record)
            elif outcome[0] == "timeout":
                status = 504
                record["level"] = "error"
                record["error"] = "timed out after %ss" % limit
                headers, payload = json_response({"error": {"type": "Timeout", "message": "the function did not finish within %s seconds" % limit}})
            else:
                status, headers, payload = self.error_response(outcome[1], record)
            if run is not None:
                headers, payload = files_answer(status, headers, payload, run, limits, keep=call is not None)
            record["status"] = status
            record["durationMs"] = round((time.time() - started) * 1000, 1)
            record["time"] = round(time.time(), 3)
            headers["X-Request-Id"] = request_id
            with state["lock"]:
                init_ms, state["init_ms"] = state["init_ms"], None
            if init_ms is not None:
                headers[INIT_HEADER] = "%.1f" % init_ms
            if tail:
                with state["lock"]:
                    startup, state["startup_output"] = state["startup_output"], None
                outputs = [o for o in (startup, output) if o is not None]
                value = log_tail(outputs, record)
                if value is not None:
                    headers[LOG_RESULT_HEADER] = value
                streams = log_streams(outputs)
                if streams is not None:
                    headers[LOG_STREAMS_HEADER] = streams
            if trace:
                with state["lock"]:
                    coldstart, state["served"] = not state.get("served"), True
                headers[SPAN_HEADER] = span_header(trace, started, coldstart)
            if stream is not None:
                stream.finish(status, headers, payload)
            else:
                self.send(status, headers, payload)
            log(record)

        def linger(self):
            """Drops what the client still sends (5 s, 64 MiB at most) after our answer, so that
            it reads the answer instead of a reset for the body it was writing."""
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(1.0)
                deadline, dropped = time.time() + 5, 0
                while time.time() < deadline and dropped < 64 << 20:
                    data = self.rfile.read1(65536)
                    if not data:
                        break
                    dropped += len(data)
            except (OSError, ValueError):
                pass

        def error_response(self, error, record):
            """(500, headers, bytes) for a handler's exception; the record gets its stack."""
            import traceback

            stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            record["level"] = "error"
            record["error"] = {"type": type(error).__name__, "message": str(error), "stack": stack}
            body = {"type": type(error).__name__, "message": str(error)}
            if state["debug"]:
                body["stack"] = stack
            return (500,) + json_response({"error": body})

    return RequestHandler


def main():
    sys.stdout.reconfigure(line_buffering=True)  # handler prints reach the logs at once
    sys.stdout = CapturingStream(sys.stdout, "o")
    sys.stderr = CapturingStream(sys.stderr, "e")
    directory = os.environ.get("HKS_FUNCTION_DIR") or DEFAULT_DIR
    spec = os.environ.get("HKS_HANDLER", "")
    raw_timeout = os.environ.get("HKS_TIMEOUT_SECONDS") or "30"
    raw_port = os.environ.get("PORT") or "8080"
    try:
        timeout = float(raw_timeout)
        if timeout <= 0:
            raise ValueError
    except ValueError:
        sys.stderr.write('hks: HKS_TIMEOUT_SECONDS: given "%s", expected a positive number of seconds\n' % raw_timeout)
        return 2
    raw_max_request = os.environ.get("HKS_MAX_REQUEST_BYTES") or str(DEFAULT_MAX_REQUEST_BYTES)
    if not raw_max_request.isdigit() or int(raw_max_request) < 1:
        sys.stderr.write('hks: HKS_MAX_REQUEST_BYTES: given "%s", expected a positive number of bytes\n' % raw_max_request)
        return 2
    if not raw_port.isdigit() or int(raw_port) > 65535:
        sys.stderr.write('hks: PORT: given "%s", expected a port number (0: any free port)\n' % raw_port)
        return 2
    once = session_once_setting()
    if once is None:
        return 2
    session = session_settings(once) if os.environ.get("HKS_RUNTIME_MODE") == "session" else False
    if session is None:
        return 2
    startup_output = OutputBuffer()  # what the module writes while loading, for the first tail
    CapturingStream.capture_into(startup_output)
    load_started = time.time()
    try:
        # A session's code comes with each request: the revision's module is not loaded.
        handler = None if session else load_handler(directory, spec)
        with_context = True if session else passes_context(handler, spec)
    except LoadError as error:
        sys.stderr.write("hks: cannot start: %s\n" % error)
        return 1
    finally:
        CapturingStream.capture_into(None)
    state = {
        "handler": handler,
        "with_context": with_context,
        "session": session or None,
        "name": os.environ.get("HKS_FUNCTION_NAME") or spec,
        "timeout": timeout,
        "max_request_bytes": int(raw_max_request),
        "debug": os.environ.get("HKS_DEBUG") in ("1", "true"),
        "draining": False,
        "startup_output": startup_output,
        # The handler's load time, told once: with the first answer of this instance (cold start).
        "init_ms": None if session else round((time.time() - load_started) * 1000, 1),
        "connections": set(),
        "lock": threading.Lock(),
    }
    server = ThreadingHTTPServer(("", int(raw_port)), make_request_handler(state))
    server.daemon_threads = False  # server_close() waits for in-flight requests

    def drain(signum, _frame):
        """Stops accepting, closes idle connections; busy ones close after their response."""
        log({"level": "info", "message": "draining", "function": state["name"], "signal": signum})
        state["draining"] = True
        with state["lock"]:
            idle = [c for c in state["connections"] if not c.busy]
        for connection in idle:
            try:
                connection.connection.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    log({"level": "info", "message": "listening", "function": state["name"], "port": server.server_address[1], "handler": spec})
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    log({"level": "info", "message": "stopped", "function": state["name"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
