"""Usage and cost of a project's functions and CronJobs (see docs/usage-and-cost.md).

:meth:`~hks_sdk.Functions.usage` reads a report: one group per function, CronJob or UTC day,
with the API's price table applied.
"""
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional


@dataclass(frozen=True)
class UsageCost:
    """A cost in the price table's currency, each part rounded to 6 decimals."""

    compute: float
    memory: float
    requests: float
    total: float


@dataclass(frozen=True)
class UsageFigures:
    """What a group used: ``vcpu_seconds`` = Σ requested vCPU × run time; ``init_seconds``
    (cold starts) is apart from ``duration_seconds``."""

    invocations: int
    executions: int
    duration_seconds: float
    init_seconds: float
    cold_starts: int
    vcpu_seconds: float
    gib_seconds: float
    cost: UsageCost

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "UsageFigures":
        return cls(
            invocations=doc["invocations"],
            executions=doc["executions"],
            duration_seconds=doc["durationSeconds"],
            init_seconds=doc["initSeconds"],
            cold_starts=doc["coldStarts"],
            vcpu_seconds=doc["vcpuSeconds"],
            gib_seconds=doc["gibSeconds"],
            cost=UsageCost(**doc["cost"]),
        )


@dataclass(frozen=True)
class UsageItem:
    """One group: ``key`` is the function's or CronJob's name, or the UTC day (YYYY-MM-DD)."""

    key: str
    figures: UsageFigures


@dataclass(frozen=True)
class UsageReport:
    """A project's usage from ``start`` to ``end`` grouped by ``group_by``, with ``prices``
    (``vcpuSecond``, ``gibSecond``, ``invocation``, ``currency``) and the ``total``."""

    project: str
    start: str
    end: str
    group_by: str
    prices: Mapping[str, Any]
    items: List[UsageItem]
    total: UsageFigures
    next_cursor: Optional[str] = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "UsageReport":
        return cls(
            project=doc["project"],
            start=doc["from"],
            end=doc["to"],
            group_by=doc["groupBy"],
            prices=dict(doc["prices"]),
            items=[UsageItem(key=i["key"], figures=UsageFigures.from_json(i)) for i in doc["items"]],
            total=UsageFigures.from_json(doc["total"]),
            next_cursor=doc.get("nextCursor"),
        )
