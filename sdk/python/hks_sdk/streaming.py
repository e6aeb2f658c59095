"""Streamed execute-once: the events of ``POST /internal/v1/operations/execute`` with
``Accept: text/event-stream`` (Server-Sent Events) as they arrive."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any, Dict, Generator, Mapping, Optional, Union

from ._http import HttpClient
from .errors import RequestTimeoutError, TransportError, problem_from_response
from .executor import ExecutionResult

PATH = "/internal/v1/operations/execute"


@dataclass(frozen=True)
class PhaseEvent:
    """The execution reached a phase: ``deploying`` (applied, Knative starts it), ``ready``
    (about to be invoked) or ``running`` (the code runs)."""

    phase: str
    timings: Dict[str, float] = field(default_factory=dict)
    """Milliseconds of the phases done so far."""


@dataclass(frozen=True)
class OutputEvent:
    """One write of the code, as it wrote it."""

    stream: str
    """``"stdout"`` or ``"stderr"``."""
    text: str
    truncated: bool = False
    """True on the last output event when the output reached the API's cap."""


@dataclass(frozen=True)
class ResultEvent:
    """The outcome, the last event: the same :class:`ExecutionResult` as ``execute`` returns."""

    result: ExecutionResult


ExecutionEvent = Union[PhaseEvent, OutputEvent, ResultEvent]


def stream_execution(
    http: HttpClient, body: Mapping[str, Any], timeout: float
) -> Generator[ExecutionEvent, None, ExecutionResult]:
    """POSTs ``body`` asking for events and yields them; returns the result (the last event).

    ``timeout`` bounds each wait for data (the API sends a comment line every 15 s while the
    code is quiet). Closing the generator early closes the connection: the API then stops
    the code and deletes its temporary function.
    """
    data = json.dumps(body).encode("utf-8")
    headers = {"Accept": "text/event-stream"}
    with http._open("POST", PATH, None, data, "application/json", headers, timeout) as response:
        event, payload = "", ""
        while True:
            try:
                raw = response.readline()
            except (socket.timeout, TimeoutError) as error:
                raise RequestTimeoutError("POST %s: no event within %s s" % (PATH, timeout)) from error
            except OSError as error:
                raise TransportError("POST %s: the stream broke off: %s" % (PATH, error)) from error
            if not raw:
                raise TransportError("POST %s: the stream ended before its result" % PATH)
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                payload += line[5:].lstrip()
            elif line == "" and event:
                name, doc = event, json.loads(payload)
                event, payload = "", ""
                parsed = _event(name, doc)
                if parsed is not None:
                    yield parsed
                    if isinstance(parsed, ResultEvent):
                        return parsed.result


def _event(name: str, doc: Any) -> Optional[ExecutionEvent]:
    """The event of one ``event:``/``data:`` block; raises the problem of an ``error`` event."""
    if name == "phase":
        return PhaseEvent(doc.get("phase", ""), dict(doc.get("timings") or {}))
    if name == "output":
        return OutputEvent(doc.get("stream", "stdout"), doc.get("text", ""), bool(doc.get("truncated")))
    if name == "result":
        return ResultEvent(ExecutionResult.from_json(doc))
    if name == "error":
        status = int(doc.get("status") or 500)
        raise problem_from_response(
            status, str(doc.get("title", "")), "application/problem+json", json.dumps(doc).encode("utf-8"), {}
        )
    return None  # an event of a later API version
