"""Request building and error mapping, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
from conftest import json_reply, problem

import hks_sdk
from hks_sdk import (
    BadGatewayError,
    BadRequestError,
    ConflictError,
    ExecutionError,
    ForbiddenError,
    FunctionExecutor,
    Functions,
    GatewayTimeoutError,
    NotFoundError,
    NotReadyError,
    ProblemError,
    RequestTimeoutError,
    ServiceUnavailableError,
    TrafficTarget,
    TransportError,
    UnauthorizedError,
    UnprocessableError,
)

@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch):
    """These tests give every setting; the HKS_* variables of the API tests must not leak in."""
    for name in ("HKS_API_URL", "HKS_TOKEN", "HKS_INTERNAL_TOKEN", "HKS_PROJECT"):
        monkeypatch.delenv(name, raising=False)


EXECUTION = {
    "id": "ex-1",
    "status": "succeeded",
    "result": {"double": 42},
    "logs": "hello\n",
    "durationMs": 1234,
    "timings": {"deploy": 100, "ready": 800, "invoke": 30, "cleanup": 20},
}

FUNCTION = {
    "name": "hello",
    "project": "shop",
    "runtime": "python3.12",
    "ready": True,
    "url": "http://127.0.0.1:9999",
    "latestCreatedRevision": "hello-00001",
    "latestReadyRevision": "hello-00001",
    "traffic": [{"revision": "hello-00001", "latestRevision": True, "percent": 100}],
    "timeoutSeconds": 30,
    "ephemeral": False,
    "createdAt": "2026-01-01T00:00:00Z",
}


def test_execute_sends_the_request_and_reads_the_result(server):
    server.reply(json_reply(200, EXECUTION))
    executor = FunctionExecutor(server.url + "/", "tok", project="shop")
    result = executor.execute("def handler(e, c):\n  return e", input={"n": 21}, timeout=5)
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", "/internal/v1/operations/execute")
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["user-agent"] == "hks-sdk-python/" + hks_sdk.__version__
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "project": "shop",
        "runtime": "python3.12",
        "code": "def handler(e, c):\n  return e",
        "input": {"n": 21},
        "timeoutSeconds": 5,
    }
    assert result.succeeded
    assert result.result == {"double": 42}
    assert (result.id, result.logs, result.duration_ms) == ("ex-1", "hello\n", 1234)
    assert result.timings["ready"] == 800
    assert result.raise_for_error() is result


def test_execute_leaves_out_what_is_not_given_and_passes_handler_env_runtime(server):
    server.reply(json_reply(200, EXECUTION), json_reply(200, EXECUTION))
    executor = FunctionExecutor(server.url, "tok")
    executor.execute("x")
    executor.execute("x", runtime="nodejs20", handler="index.run", env={"A": "1"}, timeout=9)
    assert server.requests[0].json() == {"runtime": "python3.12", "code": "x", "timeoutSeconds": 30}
    assert server.requests[1].json() == {
        "runtime": "nodejs20",
        "code": "x",
        "handler": "index.run",
        "env": {"A": "1"},
        "timeoutSeconds": 9,
    }


def test_a_failed_execution_is_data_until_raise_for_error(server):
    failed = dict(EXECUTION, status="failed", result=None)
    failed["error"] = {"type": "ValueError", "message": "bad n", "stack": "Traceback..."}
    server.reply(json_reply(200, failed), json_reply(200, dict(EXECUTION, status="timeout")))
    executor = FunctionExecutor(server.url, "tok")
    result = executor.execute("x")
    assert not result.succeeded
    assert (result.error.type, result.error.message) == ("ValueError", "bad n")
    with pytest.raises(ExecutionError, match="failed: ValueError: bad n") as raised:
        result.raise_for_error()
    assert raised.value.result is result
    with pytest.raises(ExecutionError, match="timed out"):
        executor.execute("x").raise_for_error()


def test_problem_responses_carry_every_field_and_say_it_all_in_the_message(server):
    errors = [
        {"path": "code", "message": "invalid syntax (main.py, line 3)"},
        {"path": "spec.env.A", "message": "expected a string"},
    ]
    server.reply(problem(400, "Invalid code", "main.py line 3 does not compile", errors))
    with pytest.raises(BadRequestError) as raised:
        FunctionExecutor(server.url, "tok").execute("x")
    error = raised.value
    assert isinstance(error, ProblemError) and isinstance(error, hks_sdk.HksError)
    assert (error.status, error.title) == (400, "Invalid code")
    assert error.type == "https://hks.hexabase.io/problems/x"
    assert error.detail == "main.py line 3 does not compile"
    assert [(e.path, e.message) for e in error.errors] == [(e["path"], e["message"]) for e in errors]
    assert error.error_for("code").message.endswith("line 3)")
    assert error.error_for("spec.env") is not None
    assert error.error_for("spec.e") is None
    assert str(error) == (
        "400 Invalid code: main.py line 3 does not compile\n"
        "  code: invalid syntax (main.py, line 3)\n"
        "  spec.env.A: expected a string"
    )


@pytest.mark.parametrize(
    "status,cls",
    [
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableError),
        (502, BadGatewayError),
        (503, ServiceUnavailableError),
        (504, GatewayTimeoutError),
        (500, ProblemError),
    ],
)
def test_each_status_has_its_class(server, status, cls):
    server.reply(problem(status, "Title", "the detail"))
    with pytest.raises(cls) as raised:
        Functions(server.url, "tok", "shop").get("hello")
    assert type(raised.value) is cls
    assert raised.value.status == status
    assert str(raised.value) == "%d Title: the detail" % status


def test_an_error_response_that_is_not_a_problem_still_becomes_a_problem_error(server):
    server.reply((502, {"Content-Type": "text/html"}, b"<h1>Bad gateway</h1>"))
    with pytest.raises(BadGatewayError) as raised:
        Functions(server.url, "tok", "shop").list()
    assert raised.value.title == "Bad Gateway"
    assert raised.value.detail == "<h1>Bad gateway</h1>"
    assert raised.value.errors == []


def test_no_server_is_a_transport_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError) as raised:
        Functions("http://127.0.0.1:%d" % port, "tok", "shop").list()
    assert not isinstance(raised.value, ProblemError)
    assert "GET http://127.0.0.1:%d/api/v1/projects/shop/functions" % port in str(raised.value)


def test_a_slow_server_is_a_request_timeout(server):
    def slow(_request):
        time.sleep(1.5)
        return json_reply(200, {"items": []})

    server.reply(slow)
    with pytest.raises(RequestTimeoutError) as raised:
        Functions(server.url, "tok", "shop", request_timeout=0.3).list()
    assert isinstance(raised.value, TransportError) and isinstance(raised.value, TimeoutError)


def test_the_execute_request_may_take_the_code_timeout_plus_the_margin(server):
    def slow(_request):
        time.sleep(0.6)
        return json_reply(200, EXECUTION)

    server.reply(slow, slow)
    quick = FunctionExecutor(server.url, "tok", request_timeout=0.1, timeout_margin=0.2)
    with pytest.raises(RequestTimeoutError):
        quick.execute("x", timeout=0.1)
    patient = FunctionExecutor(server.url, "tok", request_timeout=0.1, timeout_margin=2)
    assert patient.execute("x", timeout=1).succeeded


def test_settings_come_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("HKS_API_URL", server.url + "/")
    monkeypatch.setenv("HKS_TOKEN", "user-token")
    monkeypatch.setenv("HKS_INTERNAL_TOKEN", "internal-token")
    monkeypatch.setenv("HKS_PROJECT", "billing")
    server.reply(json_reply(200, {"items": []}), json_reply(200, EXECUTION))
    assert Functions().list() == []
    FunctionExecutor().execute("x")
    assert server.requests[0].path == "/api/v1/projects/billing/functions"
    assert server.requests[0].headers["authorization"] == "Bearer user-token"
    assert server.requests[1].headers["authorization"] == "Bearer internal-token"
    assert server.requests[1].json()["project"] == "billing"


def test_missing_settings_are_named():
    with pytest.raises(ValueError, match="api_url: not given and HKS_API_URL is not set"):
        Functions()
    with pytest.raises(ValueError, match="token: not given and HKS_INTERNAL_TOKEN / HKS_TOKEN"):
        FunctionExecutor("http://x")
    with pytest.raises(ValueError, match="project: not given and HKS_PROJECT is not set"):
        Functions("http://x", "t")
    with pytest.raises(ValueError, match="expected an http"):
        Functions("127.0.0.1:8080", "t", "p")


def test_deploy_puts_the_definition_and_waits_until_ready(server):
    server.reply(
        problem(404, "Not found", "no function"),
        json_reply(200, {"name": "hello", "version": 1}),
        json_reply(200, dict(FUNCTION, ready=False, latestReadyRevision=None)),
        json_reply(200, dict(FUNCTION, latestCreatedRevision="hello-00002")),
        json_reply(200, FUNCTION),
    )
    functions = Functions(server.url, "tok", "shop")
    info = functions.deploy(
        "hello",
        code="def handler(e, c): return e",
        handler="main.handler",
        env={"A": "1"},
        timeout_seconds=10,
        scaling={"minScale": 0},
    )
    put = server.requests[1]
    assert (put.method, put.path) == ("PUT", "/api/v1/projects/shop/applications/hello")
    assert put.json() == {
        "apiVersion": "hks.hexabase.io/v1",
        "kind": "Function",
        "metadata": {"name": "hello", "project": "shop"},
        "spec": {
            "runtime": "python3.12",
            "code": "def handler(e, c): return e",
            "handler": "main.handler",
            "env": {"A": "1"},
            "timeoutSeconds": 10,
            "scaling": {"minScale": 0},
        },
    }
    polls = [r.path for i, r in enumerate(server.requests) if i != 1]
    assert polls == ["/api/v1/projects/shop/functions/hello"] * 4
    assert info.ready and info.latest_ready_revision == "hello-00001"
    assert info.traffic == [TrafficTarget(100, "hello-00001", True)]


def test_a_redeploy_waits_for_the_new_revision(server):
    two = dict(FUNCTION, latestCreatedRevision="hello-00002")
    server.reply(
        json_reply(200, FUNCTION),
        json_reply(200, {"name": "hello", "version": 2}),
        json_reply(200, FUNCTION),  # not reconciled yet: the old revision still looks ready
        json_reply(200, dict(two, ready=False)),
        json_reply(200, dict(two, latestReadyRevision="hello-00002")),
    )
    info = Functions(server.url, "tok", "shop").deploy("hello", code="v2")
    assert info.latest_ready_revision == "hello-00002"
    assert len(server.requests) == 5


def test_deploy_without_replace_posts_and_a_taken_name_is_a_conflict(server):
    server.reply(problem(409, "Already exists", 'Application "hello" exists'))
    with pytest.raises(ConflictError):
        Functions(server.url, "tok", "shop").deploy("hello", files={"main.py": "x"}, replace=False)
    post = server.requests[0]
    assert (post.method, post.path) == ("POST", "/api/v1/projects/shop/applications")
    assert post.json()["spec"] == {"runtime": "python3.12", "files": {"main.py": "x"}}


def test_deploy_gives_up_waiting_with_the_reason(server):
    not_ready = dict(FUNCTION, ready=False, reason="RevisionFailed", message="exit 1")
    server.reply(json_reply(200, not_ready), json_reply(200, {}), *[json_reply(200, not_ready)] * 50)
    with pytest.raises(NotReadyError, match="not ready after .*RevisionFailed exit 1") as raised:
        Functions(server.url, "tok", "shop").deploy("hello", code="x", wait_timeout=0.3)
    assert raised.value.function.reason == "RevisionFailed"


def test_invoke_sends_json_and_decodes_by_content_type(server):
    server.reply(
        json_reply(200, {"sum": 3}),
        (200, {"Content-Type": "text/plain; charset=utf-8"}, "héllo".encode("utf-8")),
        (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01"),
        (204, {}, b""),
    )
    functions = Functions(server.url, "tok", "shop")
    assert functions.invoke("add", {"a": 1, "b": 2}) == {"sum": 3}
    assert functions.invoke("add", "x", tag="canary") == "héllo"
    assert functions.invoke("add") == b"\x00\x01"
    assert functions.invoke("add") is None
    first, second, third = server.requests[:3]
    assert (first.method, first.path) == ("POST", "/api/v1/projects/shop/functions/add/invoke")
    assert first.json() == {"a": 1, "b": 2}
    assert second.path == "/api/v1/projects/shop/functions/add/invoke?tag=canary"
    assert (third.body, "content-type" in third.headers) == (b"", False)


def test_invoke_raises_on_errors_unless_raw(server):
    server.reply(
        problem(503, "Not ready", 'Function "add" is not ready'),
        (500, {"Content-Type": "application/json", "X-Request-Id": "r1"}, b'{"error": "boom"}'),
        json_reply(201, {"created": True}),
    )
    functions = Functions(server.url, "tok", "shop")
    with pytest.raises(ServiceUnavailableError):
        functions.invoke("add", 1)
    raw = functions.invoke("add", 1, raw=True)
    assert (raw.status, raw.headers["x-request-id"], raw.json()) == (500, "r1", {"error": "boom"})
    ok = functions.invoke("add", 1, raw=True)
    assert (ok.status, ok.json(), ok.text) == (201, {"created": True}, '{"created": true}')


def log_result(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def test_invoke_with_logs_asks_for_the_tail_and_splits_off_the_record(server):
    record = {"level": "info", "message": "invocation", "function": "add", "requestId": "r1"}
    record.update(status=200, durationMs=1.5)
    own = {"function": "add", "requestId": "r1", "level": "info", "message": "invocation"}
    output = "héllo\n%s\nno newline\n%s\n" % (json.dumps(own), json.dumps(record))
    server.reply(
        (200, {"Content-Type": "application/json", "X-Hks-Log-Result": log_result(output)}, b"3"),
        (200, {"X-Hks-Log-Result": log_result(json.dumps(record) + "\n")}, b""),
        (200, {"X-Hks-Log-Result": log_result("no record\n")}, b""),
        (200, {"X-Hks-Log-Result": "not base64!"}, b""),
        json_reply(200, 3),
    )
    functions = Functions(server.url, "tok", "shop")
    response = functions.invoke("add", 1, raw=True, logs=True)
    assert response.json() == 3
    # Only the last line, the runtime's record, is taken out; the handler's own look-alike stays.
    assert response.logs == "héllo\n%s\nno newline\n" % json.dumps(own)
    assert response.invocation == record
    nothing_printed = functions.invoke("add", 1, raw=True, logs=True)
    assert (nothing_printed.logs, nothing_printed.invocation) == ("", record)
    no_record = functions.invoke("add", 1, raw=True, logs=True)
    assert (no_record.logs, no_record.invocation) == ("no record\n", None)
    garbled = functions.invoke("add", 1, raw=True, logs=True)
    assert (garbled.logs, garbled.invocation) == (None, None)
    plain = functions.invoke("add", 1, raw=True)
    assert (plain.logs, plain.invocation) == (None, None)
    assert [r.headers.get("x-hks-log") for r in server.requests] == ["tail"] * 4 + [None]


def test_invoke_with_logs_but_not_raw_is_a_value_error_before_sending(server):
    functions = Functions(server.url, "tok", "shop")
    with pytest.raises(ValueError, match="logs=True needs raw=True"):
        functions.invoke("add", 1, logs=True)
    assert server.requests == []


def test_logs_revisions_traffic_list_and_delete(server):
    revision = {
        "name": "hello-00002",
        "generation": 2,
        "ready": True,
        "createdAt": "2026-01-01T00:00:00Z",
        "percent": 100,
        "tags": ["new"],
    }
    server.reply(
        (200, {"Content-Type": "text/plain"}, b"line 1\nline 2\n"),
        json_reply(200, {"items": [revision]}),
        json_reply(200, FUNCTION),
        json_reply(200, {"items": [FUNCTION]}),
        json_reply(200, {"deleted": ["x"]}),
    )
    functions = Functions(server.url, "tok", "shop")
    assert functions.logs("hello", since="5m", tail=10) == "line 1\nline 2\n"
    [rev] = functions.revisions("hello")
    assert (rev.name, rev.generation, rev.ready, rev.percent, rev.tags) == (
        "hello-00002",
        2,
        True,
        100,
        ["new"],
    )
    info = functions.set_traffic(
        "hello",
        [TrafficTarget(90, revision="hello-00001", tag="old"), {"latestRevision": True, "percent": 10}],
    )
    assert info.name == "hello"
    assert [f.name for f in functions.list()] == ["hello"]
    assert functions.delete("hello") is None
    paths = [(r.method, r.path) for r in server.requests]
    assert paths == [
        ("GET", "/api/v1/projects/shop/functions/hello/logs?since=5m&tail=10"),
        ("GET", "/api/v1/projects/shop/functions/hello/revisions"),
        ("PUT", "/api/v1/projects/shop/functions/hello/traffic"),
        ("GET", "/api/v1/projects/shop/functions"),
        ("DELETE", "/api/v1/projects/shop/applications/hello"),
    ]
    assert server.requests[2].json() == {
        "traffic": [
            {"percent": 90, "revision": "hello-00001", "tag": "old"},
            {"latestRevision": True, "percent": 10},
        ]
    }


def test_follow_logs_yields_lines_as_they_stream(server):
    server.reply((200, {"Content-Type": "text/plain"}, [b"first\nsec", b"ond\r\n", b"third"]))
    lines = Functions(server.url, "tok", "shop").follow_logs("hello", tail=1)
    assert list(lines) == ["first", "second", "third"]
    assert server.requests[0].path == "/api/v1/projects/shop/functions/hello/logs?tail=1&follow=true"


def test_names_are_escaped_in_paths(server):
    server.reply(problem(404, "Not found", "no"))
    with pytest.raises(NotFoundError):
        Functions(server.url, "tok", "a b/c").get("x/y")
    assert server.requests[0].path == "/api/v1/projects/a%20b%2Fc/functions/x%2Fy"
