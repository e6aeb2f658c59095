"""Agent sessions through the SDK: against a local server (the requests sent, close on exit)
and against the real API process (files kept between executions, a global not, closed by
the context manager)."""

from __future__ import annotations

import pytest

from hks_sdk import FunctionExecutor, NotFoundError, ProblemError, Session

from conftest import json_reply, problem

WRITE = 'counter = 1\ndef handler(event):\n    open("notes.txt", "w").write(event["note"])\n    return "written"\n'
READ = 'def handler(event):\n    return {"notes": open("notes.txt").read(), "counter": globals().get("counter")}\n'
OPENED = {"id": "sess-0123456789ab", "project": "p", "timeoutSeconds": 10, "expiresAt": "x"}


def test_session_sends_the_routes_requests_and_closes_on_exit(server):
    server.replies = [
        json_reply(201, OPENED),
        json_reply(200, {"id": OPENED["id"], "sessionId": OPENED["id"], "status": "succeeded", "result": 2}),
        (204, {}, b""),
    ]
    executor = FunctionExecutor(server.url, "t", project="p")
    with executor.session(runtime="nodejs20", idle_timeout=60, timeout=10) as session:
        assert isinstance(session, Session)
        assert session.execute("exports.handler = () => 2;", input={"n": 1}, timeout=5).result == 2
    opened, executed, closed = server.requests
    assert (opened.method, opened.path) == ("POST", "/internal/v1/operations/sessions")
    assert opened.json() == {"runtime": "nodejs20", "timeoutSeconds": 10, "project": "p", "idleTimeoutSeconds": 60}
    assert (executed.method, executed.path) == ("POST", "/internal/v1/operations/sessions/sess-0123456789ab/execute")
    assert executed.json() == {"code": "exports.handler = () => 2;", "input": {"n": 1}, "timeoutSeconds": 5}
    assert (closed.method, closed.path) == ("DELETE", "/internal/v1/operations/sessions/sess-0123456789ab")


def test_closing_a_session_that_ended_is_not_an_error(server):
    server.replies = [json_reply(201, OPENED), problem(410, "Session ended", "Session ended (idle)")]
    with FunctionExecutor(server.url, "t").session() as session:
        pass
    assert session.closed


@pytest.fixture(scope="module")
def executor(api):
    return FunctionExecutor(api.url, api.internal_token, api.project)


def test_a_session_keeps_files_not_globals_and_closes_on_exit(executor):
    with executor.session(runtime="python3.12", idle_timeout=60) as session:
        assert session.execute(WRITE, input={"note": "kept"}).raise_for_error().result == "written"
        read = session.execute(READ)
        assert read.result == {"notes": "kept", "counter": None}
        assert read["sessionId"] == session.id
        assert session.info()["executions"] == 2
    with pytest.raises(ProblemError) as gone:
        session.info()
    assert gone.value.status == 410
    with pytest.raises(NotFoundError):
        Session(executor._http, {"id": "sess-000000000000"}, 1).info()
