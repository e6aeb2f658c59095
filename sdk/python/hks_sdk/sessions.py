"""Agent sessions: a warm function that successive executions reuse with new code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Type, Union

from ._http import HttpClient

if TYPE_CHECKING:  # pragma: no cover - types only
    from types import TracebackType

    from .executor import ExecutionResult


class Session:
    """An open agent session (``POST /internal/v1/operations/sessions``).

    Each :meth:`execute` runs new code in the same warm function, without deploying anew:
    files the code leaves in its working directory (the session folder) are there for the next
    execute, module globals are not. Use it as a context manager, which closes it on exit; it
    also ends after its idle timeout, or when an execute times out (``result["sessionEnded"]``):
    a call after that raises :class:`~hks_sdk.ProblemError` 410.

    .. code-block:: python

        with executor.session(runtime="python3.12") as session:
            session.execute(WRITE_NOTES, input={"note": "kept"})
            print(session.execute(READ_NOTES).result)
    """

    def __init__(self, http: HttpClient, opened: Mapping[str, Any], timeout_margin: float) -> None:
        self._http = http
        self._timeout_margin = timeout_margin
        self.opened: Dict[str, Any] = dict(opened)
        """What the API answered when the session was opened."""
        self.id: str = str(opened["id"])
        self.timeout: int = int(opened.get("timeoutSeconds") or 30)
        """Seconds an execute may run at most (the session's ``timeoutSeconds``)."""
        self.closed = False

    def execute(
        self,
        code: str,
        input: Any = None,
        timeout: Optional[int] = None,
        handler: Optional[str] = None,
        input_files: Optional[Mapping[str, Union[str, bytes]]] = None,
    ) -> "ExecutionResult":
        """Runs ``code`` in the session's function with ``input``; arguments and result as
        :meth:`FunctionExecutor.execute` (``timeout`` at most the session's)."""
        from .executor import ExecutionResult, _encode_files

        body: Dict[str, Any] = {"code": code, "input": input}
        if timeout is not None:
            body["timeoutSeconds"] = timeout
        if handler is not None:
            body["handler"] = handler
        if input_files is not None:
            body["inputFiles"] = _encode_files(input_files)
        doc = self._http.json(
            "POST",
            "/internal/v1/operations/sessions/%s/execute" % self.id,
            body,
            timeout=(timeout or self.timeout) + self._timeout_margin,
        )
        if doc.get("sessionEnded"):
            self.closed = True
        return ExecutionResult.from_json(doc)

    def info(self) -> Dict[str, Any]:
        """The session's state (``idle``, ``running``), ``executions`` and ``expiresAt``."""
        return self._http.json("GET", "/internal/v1/operations/sessions/%s" % self.id)

    def close(self) -> None:
        """Ends the session and deletes its function (nothing when it has ended already)."""
        if self.closed:
            return
        from .errors import ProblemError

        try:
            self._http.request("DELETE", "/internal/v1/operations/sessions/%s" % self.id)
        except ProblemError as error:
            if error.status != 410:
                raise
        self.closed = True

    def __enter__(self) -> "Session":
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: "Optional[TracebackType]",
    ) -> None:
        self.close()


def open_session(
    http: HttpClient,
    body: Mapping[str, Any],
    timeout_margin: float,
    request_timeout: float,
) -> Session:
    """Opens a session and waits until its function is ready."""
    doc = http.json("POST", "/internal/v1/operations/sessions", dict(body), timeout=request_timeout)
    return Session(http, doc, timeout_margin)
