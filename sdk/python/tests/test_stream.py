"""Streamed execute-once: ``FunctionExecutor.execute_stream`` against a local server (the
request, the parsing of events, an error event) and through the real API (output before the
result, the result as ``execute`` gives it, a refusal before any event)."""

from __future__ import annotations

import json
import time

import pytest

from hks_sdk import (
    BadGatewayError,
    BadRequestError,
    ExecutionResult,
    FunctionExecutor,
    OutputEvent,
    PhaseEvent,
    ResultEvent,
)

from conftest import problem


def sse(event: str, data: object) -> bytes:
    return ("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode("utf-8")


RESULT = {"id": "exec-1", "status": "succeeded", "result": 2, "stdout": "hi\n", "stderr": "", "output": "hi\n"}


def test_events_are_parsed_in_order_and_the_result_is_also_the_return_value(server):
    server.reply(
        (
            200,
            {"Content-Type": "text/event-stream"},
            [
                sse("phase", {"phase": "deploying", "timings": {"check": 1.5}}),
                b": heartbeat\n\n",
                sse("output", {"stream": "stdout", "text": "hi\n"}),
                sse("output", {"stream": "stderr", "text": "cut", "truncated": True}),
                sse("result", RESULT),
            ],
        )
    )
    executor = FunctionExecutor(server.url, "tok", project="p")
    stream = executor.execute_stream("def handler(event):\n    return 2\n", input={"n": 1}, timeout=5)
    events = []
    try:
        while True:
            events.append(next(stream))
    except StopIteration as stop:
        returned = stop.value
    assert events[0] == PhaseEvent("deploying", {"check": 1.5})
    assert events[1:3] == [OutputEvent("stdout", "hi\n"), OutputEvent("stderr", "cut", True)]
    assert isinstance(events[3], ResultEvent) and events[3].result.result == 2
    assert isinstance(returned, ExecutionResult) and returned.id == "exec-1"
    sent = server.requests[0]
    assert sent.headers["accept"] == "text/event-stream"
    assert sent.json() == {
        "runtime": "python3.12",
        "code": "def handler(event):\n    return 2\n",
        "timeoutSeconds": 5,
        "project": "p",
        "input": {"n": 1},
    }


def test_an_error_event_raises_its_problem(server):
    doc = {"type": "x", "title": "Function unreachable", "status": 502, "detail": "it went"}
    server.reply((200, {"Content-Type": "text/event-stream"}, [sse("phase", {"phase": "ready"}), sse("error", doc)]))
    stream = FunctionExecutor(server.url, "tok").execute_stream("x = 1")
    assert isinstance(next(stream), PhaseEvent)
    with pytest.raises(BadGatewayError, match="it went"):
        next(stream)


def test_a_refusal_is_raised_before_any_event(server):
    server.reply(problem(400, "Invalid request body", "runtime: given cobol", [{"path": "runtime", "message": "given cobol"}]))
    with pytest.raises(BadRequestError) as raised:
        next(FunctionExecutor(server.url, "tok").execute_stream("x = 1", runtime="cobol"))
    assert raised.value.errors[0].path == "runtime"


PACED = (
    "import sys, time\n\n"
    "def handler(event):\n"
    "    print('first')\n"
    "    time.sleep(2)\n"
    "    print('careful', file=sys.stderr)\n"
    "    return event['n'] * 2\n"
)


def test_through_the_real_api_output_arrives_before_the_result(api):
    executor = FunctionExecutor(api.url, api.internal_token, project=api.project)
    arrived = []
    for event in executor.execute_stream(PACED, input={"n": 21}, timeout=30):
        arrived.append((time.monotonic(), event))
    events = [e for _, e in arrived]
    assert [e.phase for e in events if isinstance(e, PhaseEvent)] == ["deploying", "ready", "running"]
    outputs = [e for e in events if isinstance(e, OutputEvent)]
    assert "".join(e.text for e in outputs if e.stream == "stdout") == "first\n"
    assert "".join(e.text for e in outputs if e.stream == "stderr") == "careful\n"
    first_at = next(t for t, e in arrived if isinstance(e, OutputEvent) and e.text.startswith("first"))
    result_at, last = arrived[-1]
    assert isinstance(last, ResultEvent)
    assert result_at - first_at >= 1.0
    assert last.result.status == "succeeded" and last.result.result == 42
    assert last.result.stdout == "first\n" and last.result.stderr == "careful\n"


def test_through_the_real_api_a_compile_error_is_raised_before_any_event(api):
    executor = FunctionExecutor(api.url, api.internal_token, project=api.project)
    with pytest.raises(BadRequestError) as raised:
        next(executor.execute_stream("def handler(event:\n"))
    assert raised.value.errors[0].path == "code"
