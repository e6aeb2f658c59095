"""Functions' schedules through the SDK: the requests it sends and the models it reads, against
a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from conftest import json_reply, problem

from hks_sdk import ConflictError, Functions, FunctionSchedule, ScheduleRun


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch):
    for name in ("HKS_API_URL", "HKS_TOKEN", "HKS_INTERNAL_TOKEN", "HKS_PROJECT"):
        monkeypatch.delenv(name, raising=False)


RUN = {
    "project": "shop",
    "function": "backup",
    "schedule": "nightly",
    "scheduledTime": "2026-01-01T17:00:00.000Z",
    "trigger": "timer",
    "status": "succeeded",
    "cron": "0 2 * * *",
    "timeZone": "Asia/Tokyo",
    "invocationId": "0b6f1c2e-5d4a-4e3b-9f21-7c8d9e0a1b2c",
    "claimedAt": "2026-01-01T17:00:00.120Z",
    "endedAt": "2026-01-01T17:00:01.000Z",
    "httpStatus": 200,
    "output": '{"status": "success"}',
    "outputTruncated": False,
}

SCHEDULE = {
    "name": "nightly",
    "cron": "0 2 * * *",
    "timeZone": "Asia/Tokyo",
    "input": {"s3_bucket": "shop-backups"},
    "concurrencyPolicy": "Forbid",
    "suspend": False,
    "startingDeadlineSeconds": 3600,
    "nextRuns": ["2026-01-02T17:00:00.000Z"],
    "lastRun": RUN,
}


def test_schedules_and_runs_are_read(server):
    server.reply(json_reply(200, {"items": [SCHEDULE]}), json_reply(200, {"items": [RUN]}))
    functions = Functions(server.url, "tok", project="shop")
    [schedule] = functions.schedules("backup")
    assert schedule == FunctionSchedule(
        name="nightly",
        cron="0 2 * * *",
        time_zone="Asia/Tokyo",
        concurrency_policy="Forbid",
        suspend=False,
        starting_deadline_seconds=3600,
        input={"s3_bucket": "shop-backups"},
        next_runs=["2026-01-02T17:00:00.000Z"],
        last_run=ScheduleRun.from_json(RUN),
    )
    [run] = functions.schedule_runs("backup", "nightly", limit=5)
    assert (run.status, run.invocation_id, run.output) == (
        "succeeded",
        RUN["invocationId"],
        '{"status": "success"}',
    )
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/api/v1/projects/shop/functions/backup/schedules"),
        ("GET", "/api/v1/projects/shop/functions/backup/schedules/nightly/runs?limit=5"),
    ]


def test_trigger_suspend_and_resume_send_what_the_routes_take(server):
    server.reply(
        json_reply(201, dict(RUN, trigger="manual")),
        json_reply(200, dict(SCHEDULE, suspend=True, nextRuns=[])),
        json_reply(200, SCHEDULE),
    )
    functions = Functions(server.url, "tok", project="shop")
    assert functions.trigger_schedule("backup", "nightly").trigger == "manual"
    assert functions.suspend_schedule("backup", "nightly").suspend is True
    assert functions.resume_schedule("backup", "nightly").next_runs == ["2026-01-02T17:00:00.000Z"]
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/api/v1/projects/shop/functions/backup/schedules/nightly/trigger"),
        ("PATCH", "/api/v1/projects/shop/functions/backup/schedules/nightly"),
        ("PATCH", "/api/v1/projects/shop/functions/backup/schedules/nightly"),
    ]
    assert [r.json() for r in server.requests[1:]] == [{"suspend": True}, {"suspend": False}]


def test_a_forbid_schedule_still_running_is_a_conflict(server):
    server.reply(problem(409, "Run still running", "Schedule \"nightly\" ... still running"))
    with pytest.raises(ConflictError) as raised:
        Functions(server.url, "tok", project="shop").trigger_schedule("backup", "nightly")
    assert raised.value.status == 409
