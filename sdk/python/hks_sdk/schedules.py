"""Schedules of functions: runs of a function on cron schedules, made by the API.

See docs/function-schedules.md. :class:`~hks_sdk.Functions` reads and drives them:
``schedules``, ``schedule_runs``, ``trigger_schedule``, ``suspend_schedule``,
``resume_schedule``.
"""
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional


@dataclass(frozen=True)
class ScheduleRun:
    """One run of a schedule.

    ``status`` is ``running``, ``succeeded``, ``failed``, ``skipped`` (Forbid: the previous run
    still ran), ``missed`` (not started within its deadline) or ``lost`` (its API replica
    stopped before the answer was known; never run again). ``trigger`` is ``timer`` or
    ``manual``. ``scheduled_time`` is when it was due (``faas.time``).
    """

    schedule: str
    scheduled_time: str
    trigger: str
    status: str
    cron: str
    time_zone: str
    invocation_id: Optional[str] = None
    """Its invocation in the function's history (:meth:`Functions.invocation`)."""
    http_status: Optional[int] = None
    reason: Optional[str] = None
    output: Optional[str] = None
    """The function's answer as text, at most 64 KiB."""
    output_truncated: Optional[bool] = None
    ended_at: Optional[str] = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "ScheduleRun":
        return cls(
            schedule=str(doc.get("schedule", "")),
            scheduled_time=str(doc.get("scheduledTime", "")),
            trigger=str(doc.get("trigger", "")),
            status=str(doc.get("status", "")),
            cron=str(doc.get("cron", "")),
            time_zone=str(doc.get("timeZone", "")),
            invocation_id=doc.get("invocationId"),
            http_status=doc.get("httpStatus"),
            reason=doc.get("reason"),
            output=doc.get("output"),
            output_truncated=doc.get("outputTruncated"),
            ended_at=doc.get("endedAt"),
        )


@dataclass(frozen=True)
class FunctionSchedule:
    """A schedule of a function, its defaults filled in, with its next runs and last run."""

    name: str
    cron: str
    time_zone: str
    concurrency_policy: str
    suspend: bool
    starting_deadline_seconds: int
    input: Any = None
    next_runs: List[str] = field(default_factory=list)
    """The next scheduled times (ISO 8601); empty while suspended."""
    last_run: Optional[ScheduleRun] = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "FunctionSchedule":
        last = doc.get("lastRun")
        return cls(
            name=str(doc.get("name", "")),
            cron=str(doc.get("cron", "")),
            time_zone=str(doc.get("timeZone", "")),
            concurrency_policy=str(doc.get("concurrencyPolicy", "")),
            suspend=bool(doc.get("suspend")),
            starting_deadline_seconds=int(doc.get("startingDeadlineSeconds") or 0),
            input=doc.get("input"),
            next_runs=[str(t) for t in doc.get("nextRuns") or []],
            last_run=ScheduleRun.from_json(last) if isinstance(last, Mapping) else None,
        )
