"""The SDK against the real API process (settings from HKS_API_URL, HKS_TOKEN,
HKS_INTERNAL_TOKEN, HKS_PROJECT; skipped when unset outside CI)."""

from __future__ import annotations

import re
import secrets
import time

import pytest

from hks_sdk import (
    BadRequestError,
    ConflictError,
    ExecutionError,
    ForbiddenError,
    FunctionExecutor,
    Functions,
    NotFoundError,
    ProblemError,
)

DOUBLE = """
def handler(event, context):
    print("hello from the handler", event["n"])
    return {"double": event["n"] * 2}
"""


def version(v: int) -> str:
    return (
        "def handler(event, context):\n"
        "    print('invoked version %d with', event)\n"
        "    return {'version': %d, 'input': event}\n" % (v, v)
    )


@pytest.fixture(scope="module")
def executor(api):
    return FunctionExecutor(api.url, api.internal_token, api.project)


@pytest.fixture(scope="module")
def functions(api):
    return Functions(api.url, api.token, api.project)


# --- execute-once -------------------------------------------------------------------------


def test_execute_returns_the_handler_result_and_its_output(executor):
    result = executor.execute(DOUBLE, input={"n": 21}, timeout=20)
    assert result.status == "succeeded", result
    assert result.succeeded
    assert result.result == {"double": 42}
    assert result.error is None
    assert "hello from the handler 21" in result.logs
    assert result.id
    assert result.duration_ms > 0
    assert set(result.timings) >= {"check", "deploy", "ready", "invoke", "logs"}


def test_a_handler_exception_is_a_failed_result(executor):
    code = "def handler(event, context):\n    raise ValueError('bad n: %s' % event)\n"
    result = executor.execute(code, input=7, timeout=20)
    assert result.status == "failed", result
    assert not result.succeeded
    assert result.error.type == "ValueError"
    assert "bad n: 7" in result.error.message
    with pytest.raises(ExecutionError, match="ValueError"):
        result.raise_for_error()


def test_a_syntax_error_is_a_400_naming_the_line(executor):
    code = "import json\n\ndef handler(event, context)\n    return 1\n"
    with pytest.raises(BadRequestError) as raised:
        executor.execute(code)
    error = raised.value
    assert error.status == 400
    assert re.search(r"line 3\b|:3\b", error.detail), error.detail
    assert error.errors and error.errors[0].path == "code"
    assert "line 3" in str(error) or ":3" in str(error)


def test_code_past_its_timeout_is_a_timeout_result(executor):
    code = "import time\n\ndef handler(event, context):\n    time.sleep(30)\n    return 1\n"
    start = time.monotonic()
    result = executor.execute(code, timeout=1)
    assert result.status == "timeout", result
    assert not result.succeeded
    assert time.monotonic() - start < 25
    with pytest.raises(ExecutionError, match="timed out"):
        result.raise_for_error()


def test_a_node_function_runs_too(executor):
    code = "exports.handler = async (event) => ({ sum: event.a + event.b });\n"
    result = executor.execute(code, input={"a": 1, "b": 2}, runtime="nodejs20", timeout=20)
    assert (result.status, result.result) == ("succeeded", {"sum": 3}), result


def test_a_user_token_is_forbidden_on_execute(api):
    with pytest.raises(ForbiddenError) as raised:
        FunctionExecutor(api.url, api.token, api.project).execute(DOUBLE, input={"n": 1})
    assert raised.value.status == 403


def test_an_internal_token_is_forbidden_on_the_user_api(api):
    with pytest.raises(ForbiddenError):
        Functions(api.url, api.internal_token, api.project).list()


# --- functions ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def name(functions):
    """A function deployed for this module (version 1), deleted at the end."""
    name = "sdk-" + secrets.token_hex(3)
    functions.deploy(name, code=version(1), timeout_seconds=10, wait_timeout=90)
    yield name
    try:
        functions.delete(name)
    except NotFoundError:
        pass


def test_deploy_get_and_list(functions, name, api):
    info = functions.get(name)
    assert (info.name, info.project, info.runtime) == (name, api.project, "python3.12")
    assert info.ready
    assert info.timeout_seconds == 10
    assert not info.ephemeral
    assert info.latest_ready_revision == name + "-00001"
    assert name in [f.name for f in functions.list()]


def test_invoke_returns_the_decoded_result(functions, name):
    assert functions.invoke(name, {"x": 1}) == {"version": 1, "input": {"x": 1}}
    raw = functions.invoke(name, [1, 2], raw=True)
    assert raw.status == 200
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.json() == {"version": 1, "input": [1, 2]}


def test_logs_hold_the_handler_output(functions, name):
    marker = "marker-" + secrets.token_hex(4)
    functions.invoke(name, marker)
    deadline = time.monotonic() + 20
    while marker not in functions.logs(name, since="5m"):
        assert time.monotonic() < deadline, functions.logs(name)
        time.sleep(0.5)
    assert len(functions.logs(name, tail=1).strip().splitlines()) <= 1


def test_follow_logs_streams_lines(functions, name):
    marker = "followed-" + secrets.token_hex(4)
    functions.invoke(name, marker)
    lines = functions.follow_logs(name, since="5m", idle_timeout=20)
    try:
        assert any(marker in line for line in lines)
    finally:
        lines.close()


PRINTER = """
def handler(event, context):
    print("first line", event["n"])
    print("second line")
    if event.get("fail"):
        raise ValueError("bad n: %s" % event["n"])
    return {"n": event["n"]}
"""


@pytest.fixture(scope="module")
def printer(functions):
    """A function printing two lines per call (and raising when asked), deleted at the end."""
    name = "sdk-logs-" + secrets.token_hex(3)
    functions.deploy(name, code=PRINTER, timeout_seconds=10, wait_timeout=90)
    yield name
    try:
        functions.delete(name)
    except NotFoundError:
        pass


def test_invoke_with_logs_returns_what_the_handler_printed(functions, printer):
    response = functions.invoke(printer, {"n": 1}, raw=True, logs=True)
    assert (response.status, response.json()) == (200, {"n": 1})
    assert response.logs == "first line 1\nsecond line\n"
    record = response.invocation
    assert record is not None
    assert record["status"] == 200
    assert record["requestId"] == response.headers["x-request-id"]
    assert record["durationMs"] >= 0
    assert "error" not in record


def test_invoke_with_logs_of_a_failing_handler_has_the_stack(functions, printer):
    response = functions.invoke(printer, {"n": 7, "fail": True}, raw=True, logs=True)
    assert response.status == 500
    assert response.logs == "first line 7\nsecond line\n"
    record = response.invocation
    assert record is not None
    assert record["status"] == 500
    error = record["error"]
    assert (error["type"], error["message"]) == ("ValueError", "bad n: 7")
    assert "Traceback" in error["stack"], error
    assert "ValueError: bad n: 7" in error["stack"], error


def test_invoke_without_logs_has_none(functions, printer):
    response = functions.invoke(printer, {"n": 2}, raw=True)
    assert response.status == 200
    assert "x-hks-log-result" not in response.headers
    assert (response.logs, response.invocation) == (None, None)


def test_invoke_with_logs_needs_raw(functions, printer):
    with pytest.raises(ValueError, match="logs=True needs raw=True"):
        functions.invoke(printer, {"n": 3}, logs=True)


def test_history_records_each_invocation_under_the_id_its_function_saw(functions, printer):
    response = functions.invoke(printer, {"n": 3}, raw=True)
    invocation_id = response.headers["x-request-id"]
    failed = functions.invoke(printer, {"n": 4, "fail": True}, raw=True)
    deadline = time.monotonic() + 10
    while True:
        page = functions.history(printer, limit=100)
        ids = [i.id for i in page.items]
        if invocation_id in ids and failed.headers["x-request-id"] in ids:
            break
        assert time.monotonic() < deadline, ids
        time.sleep(0.2)
    entry = next(i for i in page.items if i.id == invocation_id)
    assert (entry.function, entry.trigger, entry.status, entry.http_status) == (
        printer,
        "http",
        "succeeded",
        200,
    )
    assert entry.logs is None
    one = functions.invocation(printer, invocation_id)
    assert one.logs == "first line 3\nsecond line\n"
    only_failed = functions.history(printer, status="failed", limit=100).items
    assert failed.headers["x-request-id"] in [i.id for i in only_failed]
    assert {i.status for i in only_failed} == {"failed"}
    assert only_failed[0].error is not None and only_failed[0].error.type == "ValueError"
    first = functions.history(printer, limit=1)
    assert len(first.items) == 1 and first.next_cursor
    second = functions.history(printer, limit=1, cursor=first.next_cursor)
    assert second.items[0].id != first.items[0].id


def test_history_names_a_bad_filter(functions, printer):
    with pytest.raises(ProblemError) as raised:
        functions.history(printer, status="crashed")
    assert raised.value.status == 400
    assert "status" in str(raised.value)
    with pytest.raises(NotFoundError):
        functions.invocation(printer, "00000000-0000-4000-8000-000000000000")


def test_redeploy_makes_a_revision_and_traffic_can_be_split(functions, name):
    info = functions.deploy(name, code=version(2), timeout_seconds=10, wait_timeout=90)
    assert info.latest_ready_revision == name + "-00002"
    assert functions.invoke(name, 0)["version"] == 2
    revisions = {r.name: r for r in functions.revisions(name)}
    assert set(revisions) == {name + "-00001", name + "-00002"}
    assert revisions[name + "-00002"].percent == 100
    assert revisions[name + "-00001"].generation == 1

    info = functions.set_traffic(
        name,
        [
            {"revision": name + "-00001", "percent": 0, "tag": "old"},
            {"latestRevision": True, "percent": 100},
        ],
    )
    assert info.name == name
    deadline = time.monotonic() + 30
    while "old" not in {tag for r in functions.revisions(name) for tag in r.tags}:
        assert time.monotonic() < deadline, functions.revisions(name)
        time.sleep(0.5)
    assert functions.invoke(name, 0, tag="old")["version"] == 1
    assert functions.invoke(name, 0)["version"] == 2


def test_bad_traffic_is_a_400_naming_the_field(functions, name):
    with pytest.raises(BadRequestError) as raised:
        functions.set_traffic(name, [{"latestRevision": True, "percent": 50}])
    assert raised.value.errors, raised.value
    assert any(e.path.startswith("traffic") for e in raised.value.errors), raised.value


def test_create_without_replace_conflicts_with_an_existing_function(functions, name):
    with pytest.raises(ConflictError):
        functions.deploy(name, code=version(3), replace=False)


def test_an_invalid_name_is_a_400_naming_the_path_parameter(functions):
    # The name travels in the URL (PUT applications/{name}), which the API checks first.
    with pytest.raises(BadRequestError) as raised:
        functions.deploy("Not_A_Name", code=version(1))
    error = raised.value
    assert error.error_for("name") is not None, error
    assert 'path parameter name: given "Not_A_Name"' in str(error)


def test_an_invalid_timeout_is_a_400_naming_the_field(functions):
    with pytest.raises(BadRequestError) as raised:
        functions.deploy("sdk-bad-timeout", code=version(1), timeout_seconds=-1)
    assert raised.value.error_for("spec.timeoutSeconds") is not None, raised.value


def test_unknown_functions_are_404(functions):
    with pytest.raises(NotFoundError):
        functions.get("sdk-no-such-function")
    with pytest.raises(NotFoundError):
        functions.invoke("sdk-no-such-function", 1)


def test_delete_removes_the_function(functions, name):
    functions.delete(name)
    deadline = time.monotonic() + 30
    while True:
        try:
            functions.get(name)
        except NotFoundError:
            break
        assert time.monotonic() < deadline, "the function is still there after delete"
        time.sleep(0.5)
    assert name not in [f.name for f in functions.list()]
