"""Execute-once: run a piece of code as a temporary function and get its result."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Generator, Iterator, List, Mapping, Optional, Union

from ._http import DEFAULT_REQUEST_TIMEOUT, HttpClient, from_env, require
from .errors import ExecutionError

if TYPE_CHECKING:
    from .streaming import ExecutionEvent

DEFAULT_TIMEOUT_MARGIN = 120.0
"""Seconds the HTTP request of :meth:`FunctionExecutor.execute` may take beyond the
code's own timeout: deploying, waiting for readiness and cleaning up."""


@dataclass(frozen=True)
class ErrorInfo:
    """What the user code raised."""

    type: str
    """Exception class name, e.g. ``ValueError``."""
    message: str
    stack: Optional[str] = None
    """The traceback, when the API sends it."""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "ErrorInfo":
        return cls(str(doc.get("type", "")), str(doc.get("message", "")), doc.get("stack"))


@dataclass(frozen=True)
class ExecutionResult(Mapping[str, Any]):
    """The outcome of one execution.

    A failure of the user code is data, not an exception: ``status`` is ``"failed"``
    and ``error`` says what was raised; ``"timeout"`` when the code ran past its timeout
    (it was stopped), ``"killed"`` when its process ended before answering.
    Call :meth:`raise_for_error` to turn them into an :class:`~hks_sdk.ExecutionError`.

    It is also a read-only mapping of the API's JSON: ``result["status"]``,
    ``result["stdout"]``, ``dict(result)``.
    """

    id: str
    status: str
    """``"succeeded"``, ``"failed"``, ``"timeout"`` or ``"killed"``."""
    result: Any = None
    """What the handler returned, decoded from JSON (None unless succeeded)."""
    error: Optional[ErrorInfo] = None
    logs: str = ""
    """The same as ``output``, kept for the code that reads it."""
    stdout: str = ""
    """What the code wrote to stdout."""
    stderr: str = ""
    """What the code wrote to stderr."""
    output: str = ""
    """Both, in the order written."""
    truncated: Optional[Dict[str, Any]] = None
    """``{"stdout", "stderr", "output", "limitBytes"}`` when output was cut at the API's cap."""
    stopped: Optional[bool] = None
    """At a timeout: whether the function was deleted and its process gone before the answer."""
    output_files: Dict[str, Union[str, bytes]] = field(default_factory=dict)
    """What the code left under ``output/`` (``HKS_OUTPUT_DIR``) by relative path: ``str`` for
    UTF-8 text, ``bytes`` otherwise; within the API's caps."""
    omitted_files: List[Dict[str, Any]] = field(default_factory=list)
    """Output files left out, ``{"path", "bytes"?, "reason"}``: over a cap (``file-limit``,
    ``total-limit``, ``count-limit``), a ``symlink`` (never followed), ``not-a-file``."""
    duration_ms: int = 0
    """Time of the whole execution, deploy and clean-up included."""
    timings: Dict[str, int] = field(default_factory=dict)
    """Milliseconds per phase: ``check``, ``deploy``, ``ready``, ``invoke``, ``logs``."""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "ExecutionResult":
        error = doc.get("error")
        return cls(
            id=str(doc.get("id", "")),
            status=str(doc.get("status", "")),
            result=doc.get("result"),
            error=ErrorInfo.from_json(error) if isinstance(error, dict) else None,
            logs=str(doc.get("logs") or ""),
            duration_ms=int(doc.get("durationMs") or 0),
            timings=dict(doc.get("timings") or {}),
            stdout=str(doc.get("stdout") or ""),
            stderr=str(doc.get("stderr") or ""),
            output=str(doc.get("output") or doc.get("logs") or ""),
            truncated=doc.get("truncated"),
            stopped=doc.get("stopped"),
            output_files=_decode_files(doc.get("outputFiles")),
            omitted_files=list(doc.get("omittedFiles") or []),
            document=dict(doc),
        )

    document: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The API's JSON, which the mapping reads."""

    def __getitem__(self, key: str) -> Any:
        return self.document[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.document)

    def __len__(self) -> int:
        return len(self.document)

    @property
    def succeeded(self) -> bool:
        """True when the handler returned normally."""
        return self.status == "succeeded"

    def raise_for_error(self) -> "ExecutionResult":
        """Raises :class:`~hks_sdk.ExecutionError` unless succeeded; returns self otherwise."""
        if not self.succeeded:
            raise ExecutionError(self)
        return self


def _decode_files(doc: Any) -> Dict[str, Union[str, bytes]]:
    """``{path: {"text"} | {"base64"}}`` of the API as ``{path: str | bytes}``."""
    files: Dict[str, Union[str, bytes]] = {}
    for path, content in (doc or {}).items():
        if "text" in content:
            files[path] = str(content["text"])
        else:
            files[path] = base64.b64decode(content.get("base64") or "")
    return files


def _encode_files(files: Mapping[str, Union[str, bytes]]) -> Dict[str, Dict[str, str]]:
    """``{path: str | bytes}`` as the API takes it: text as text, bytes as base64."""
    encoded: Dict[str, Dict[str, str]] = {}
    for path, content in files.items():
        if isinstance(content, str):
            encoded[path] = {"text": content}
        elif isinstance(content, (bytes, bytearray, memoryview)):
            encoded[path] = {"base64": base64.b64encode(bytes(content)).decode("ascii")}
        else:
            raise TypeError(
                "input_files[%r]: given %s, expected str (text) or bytes" % (path, type(content).__name__)
            )
    return encoded


class FunctionExecutor:
    """Runs code once on the platform: deploy a temporary function, invoke it, clean up.

    Uses the internal API (``POST /internal/v1/operations/execute``), which needs an
    *internal* token (audience ``hks-internal``); a user token gets a 403
    :class:`~hks_sdk.ForbiddenError`.

    :param api_url: base URL of the API, e.g. ``http://127.0.0.1:8080`` (a trailing slash
        is fine). Default: the ``HKS_API_URL`` environment variable.
    :param auth_token: internal token (``token=`` is the same). Default:
        ``HKS_INTERNAL_TOKEN``, else ``HKS_TOKEN``.
    :param project: project to run in. Default: ``HKS_PROJECT``; when neither is set the API
        uses the token's only project.
    :param timeout_margin: seconds the request may take beyond the code's timeout.
    :param request_timeout: seconds other requests may take.
    """

    def __init__(
        self,
        api_url: Optional[str] = None,
        auth_token: Optional[str] = None,
        project: Optional[str] = None,
        timeout_margin: float = DEFAULT_TIMEOUT_MARGIN,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        token: Optional[str] = None,
    ) -> None:
        if auth_token is not None and token is not None and auth_token != token:
            raise ValueError("auth_token and token: given two different tokens, expected one")
        self._http = HttpClient(
            require(api_url, "api_url", "HKS_API_URL"),
            require(auth_token or token, "auth_token", "HKS_INTERNAL_TOKEN", "HKS_TOKEN"),
            request_timeout,
        )
        self.project = from_env(project, "HKS_PROJECT")
        self.timeout_margin = timeout_margin

    def execute(
        self,
        code: str,
        input: Any = None,
        timeout: int = 30,
        runtime: str = "python3.12",
        handler: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        input_files: Optional[Mapping[str, Union[str, bytes]]] = None,
    ) -> ExecutionResult:
        """Runs ``code`` once with ``input`` and returns the outcome.

        :param code: the source of one module holding the handler.
        :param input: the event passed to the handler (anything JSON can encode).
        :param timeout: seconds the handler may run, 1 to 600.
        :param runtime: ``"python3.12"`` or ``"nodejs20"``.
        :param handler: ``module.function``. Default: ``main.handler`` / ``index.handler``.
        :param env: environment variables of the function.
        :param input_files: small files by relative path (``"data/in.csv"``), ``str`` sent as
            text and ``bytes`` as base64; the code reads them at ``input/<path>`` of its working
            directory (``HKS_INPUT_DIR``). What it writes under ``output/`` (``HKS_OUTPUT_DIR``)
            comes back as :attr:`ExecutionResult.output_files`.
        :returns: the :class:`ExecutionResult`; the handler raising or timing out is
            reported there, not raised.
        :raises BadRequestError: the code does not compile (``detail`` names the line,
            ``errors[0].path`` is ``"code"``) or an argument is invalid.
        :raises ForbiddenError: the token is not an internal token for the project.
        :raises TypeError: an input file is neither ``str`` nor ``bytes``.
        :raises TransportError: no response (``RequestTimeoutError`` after
            ``timeout + timeout_margin`` seconds).
        """
        body: Dict[str, Any] = {"runtime": runtime, "code": code, "timeoutSeconds": timeout}
        optional = {"project": self.project, "handler": handler, "input": input, "env": env}
        if input_files is not None:
            optional["inputFiles"] = _encode_files(input_files)
        body.update({k: v for k, v in optional.items() if v is not None})
        doc = self._http.json(
            "POST",
            "/internal/v1/operations/execute",
            body,
            timeout=timeout + self.timeout_margin,
        )
        return ExecutionResult.from_json(doc)

    def execute_stream(
        self,
        code: str,
        input: Any = None,
        timeout: int = 30,
        runtime: str = "python3.12",
        handler: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        input_files: Optional[Mapping[str, Union[str, bytes]]] = None,
    ) -> "Generator[ExecutionEvent, None, ExecutionResult]":
        """:meth:`execute`, streamed: yields :class:`~hks_sdk.PhaseEvent` as the execution
        reaches a phase, :class:`~hks_sdk.OutputEvent` as the code writes (``stream``,
        ``text``), and last a :class:`~hks_sdk.ResultEvent` whose ``result`` is what
        :meth:`execute` returns (also the generator's return value).

        .. code-block:: python

            for event in executor.execute_stream(code, input={"n": 1}):
                if isinstance(event, OutputEvent):
                    print(event.text, end="", file=sys.stderr if event.stream == "stderr" else sys.stdout)
                elif isinstance(event, ResultEvent):
                    result = event.result

        Arguments, :class:`BadRequestError` and the rest as :meth:`execute`, raised before the
        first event. Leaving the loop early (``break``, or closing the generator) stops the
        code: the API deletes its temporary function.
        """
        from .streaming import stream_execution

        body: Dict[str, Any] = {"runtime": runtime, "code": code, "timeoutSeconds": timeout}
        optional = {"project": self.project, "handler": handler, "input": input, "env": env}
        if input_files is not None:
            optional["inputFiles"] = _encode_files(input_files)
        body.update({k: v for k, v in optional.items() if v is not None})
        return stream_execution(self._http, body, timeout + self.timeout_margin)

    def session(
        self,
        runtime: str = "python3.12",
        idle_timeout: Optional[int] = None,
        timeout: int = 30,
        env: Optional[Mapping[str, str]] = None,
    ) -> "Session":
        """Opens an agent session: a warm function that successive
        :meth:`Session.execute` calls reuse with new code each time (files in its working
        directory kept between them). Use it with ``with``, which closes it.

        .. code-block:: python

            with executor.session(runtime="python3.12") as session:
                session.execute(code, input={"n": 1})

        :param idle_timeout: seconds without an execute after which it ends. Default 300 (at
            most the API's ``HKS_SESSION_MAX_IDLE_SECONDS``).
        :param timeout: seconds each execute may run at most, 1 to 600.
        :raises ProblemError: 429 when the project has its most temporary functions already.
        """
        from .sessions import open_session

        body: Dict[str, Any] = {"runtime": runtime, "timeoutSeconds": timeout}
        optional = {"project": self.project, "idleTimeoutSeconds": idle_timeout, "env": env}
        body.update({k: v for k, v in optional.items() if v is not None})
        return open_session(self._http, body, self.timeout_margin, DEFAULT_REQUEST_TIMEOUT)
