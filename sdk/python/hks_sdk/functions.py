"""Functions of a project: deploy, invoke, read logs, split traffic between revisions."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ._http import (
    DEFAULT_REQUEST_TIMEOUT,
    NO_TIMEOUT,
    HttpClient,
    Response,
    quote,
    require,
)
from .errors import HksError, NotFoundError, ProblemError
from .schedules import FunctionSchedule, ScheduleRun
from .usage import UsageReport
from .async_invocations import FINAL_STATES, AsyncInvocation, AsyncSubmission

API_VERSION = "hks.hexabase.io/v1"
"""``apiVersion`` of the definitions :meth:`Functions.deploy` sends."""

LOG_TAIL_HEADER = "X-Hks-Log"
"""Request header asking the function's runtime for the invocation's output (value ``tail``)."""

LOG_RESULT_HEADER = "x-hks-log-result"
"""Response header (lower case, as in :attr:`InvokeResponse.headers`) with that output: base64
of its UTF-8 log lines, the runtime's JSON record of the invocation last."""

SETTLE_SECONDS = 5.0
"""After a redeploy, seconds :meth:`Functions.wait_ready` waits for a new revision before
taking the function as it is (a change that does not make a new revision)."""


@dataclass(frozen=True)
class TrafficTarget:
    """One entry of a function's traffic split."""

    percent: int
    revision: Optional[str] = None
    """Revision name, e.g. ``hello-00002``; None with ``latest_revision``."""
    latest_revision: bool = False
    """True: this entry follows the latest ready revision."""
    tag: Optional[str] = None
    """Name of a tagged route; ``invoke(name, tag=...)`` reaches it."""
    url: Optional[str] = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "TrafficTarget":
        return cls(
            percent=int(doc.get("percent") or 0),
            revision=doc.get("revision"),
            latest_revision=bool(doc.get("latestRevision", False)),
            tag=doc.get("tag"),
            url=doc.get("url"),
        )

    def to_json(self) -> Dict[str, Any]:
        doc: Dict[str, Any] = {"percent": self.percent}
        if self.revision is not None:
            doc["revision"] = self.revision
        if self.latest_revision:
            doc["latestRevision"] = True
        if self.tag is not None:
            doc["tag"] = self.tag
        return doc


@dataclass(frozen=True)
class FunctionInfo:
    """A deployed function as the API reports it (``GET /functions/{name}``)."""

    name: str
    project: str
    runtime: str
    ready: bool
    timeout_seconds: int
    ephemeral: bool
    created_at: str
    reason: Optional[str] = None
    message: Optional[str] = None
    url: Optional[str] = None
    address: Optional[str] = None
    latest_created_revision: Optional[str] = None
    latest_ready_revision: Optional[str] = None
    traffic: List[TrafficTarget] = field(default_factory=list)
    expires_at: Optional[str] = None
    #: Its current version failed to start (Ready False): waiting longer will not help.
    failed: bool = False

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "FunctionInfo":
        return cls(
            name=str(doc.get("name", "")),
            project=str(doc.get("project", "")),
            runtime=str(doc.get("runtime", "")),
            ready=bool(doc.get("ready", False)),
            timeout_seconds=int(doc.get("timeoutSeconds") or 0),
            ephemeral=bool(doc.get("ephemeral", False)),
            created_at=str(doc.get("createdAt", "")),
            reason=doc.get("reason"),
            message=doc.get("message"),
            url=doc.get("url"),
            address=doc.get("address"),
            latest_created_revision=doc.get("latestCreatedRevision"),
            latest_ready_revision=doc.get("latestReadyRevision"),
            traffic=[TrafficTarget.from_json(t) for t in doc.get("traffic") or []],
            expires_at=doc.get("expiresAt"),
            failed=bool(doc.get("failed", False)),
        )


@dataclass(frozen=True)
class Revision:
    """One revision of a function (one per change of its code or settings)."""

    name: str
    generation: int
    ready: bool
    created_at: str
    percent: int = 0
    """Share of the traffic it receives."""
    tags: List[str] = field(default_factory=list)
    reason: Optional[str] = None
    message: Optional[str] = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "Revision":
        return cls(
            name=str(doc.get("name", "")),
            generation=int(doc.get("generation") or 0),
            ready=bool(doc.get("ready", False)),
            created_at=str(doc.get("createdAt", "")),
            percent=int(doc.get("percent") or 0),
            tags=[str(t) for t in doc.get("tags") or []],
            reason=doc.get("reason"),
            message=doc.get("message"),
        )


@dataclass(frozen=True)
class InvokeResponse:
    """The function's own HTTP response, from ``invoke(..., raw=True)``.

    With ``invoke(..., logs=True)`` it also carries what that one invocation wrote:
    :attr:`logs` and :attr:`invocation`, read from the ``X-Hks-Log-Result`` header.
    """

    status: int
    headers: Dict[str, str]
    """Header names in lower case."""
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def logs(self) -> Optional[str]:
        """What the invocation's code printed or logged (stdout and stderr, ``context.logger``
        lines included), as text with its line endings; on the first ``logs=True`` call to a
        fresh instance, preceded by what the module printed while loading. The runtime's own
        record of the invocation is left out (see :attr:`invocation`). ``""`` when the code
        wrote nothing.

        None when the response has no ``X-Hks-Log-Result`` header: not asked for
        (``logs=False``), more than 8 KiB of output (:meth:`Functions.logs` has all of it), or
        an ``image`` function whose server does not implement the header.
        """
        return _log_tail(self.headers)[0]

    @property
    def invocation(self) -> Optional[Dict[str, Any]]:
        """The runtime's JSON record of the invocation, as a dict: ``requestId``, ``status``,
        ``durationMs``, ``level`` and, when the handler raised, ``error`` with ``type``,
        ``message`` and ``stack`` (past the timeout, ``error`` is a string). None when
        :attr:`logs` is None or the output has no such record.
        """
        return _log_tail(self.headers)[1]

    def json(self) -> Any:
        """The body decoded from JSON."""
        return json.loads(self.text)


@dataclass(frozen=True)
class InvocationError:
    """The exception a handler raised, as its runtime reported it, or why the platform got no
    answer (``Timeout``, ``ResponseTooLarge``, ``Unreachable``, ``ClientGone``)."""

    type: str
    message: str
    stack: Optional[str] = None


@dataclass(frozen=True)
class Invocation:
    """One recorded invocation of a function (:meth:`Functions.history`).

    ``id`` is the id the API gave it, sent to the function as ``X-Request-Id`` (its
    ``context.request_id``) and returned as the response's ``X-Request-Id``. ``status`` is
    ``succeeded``, ``failed``, ``timeout``, ``too-large``, ``unreachable`` or ``client-gone``;
    ``trigger`` ``http`` (invoke) or ``execute`` (execute-once).
    """

    id: str
    function: str
    trigger: str
    status: str
    started_at: str
    duration_ms: float
    request_bytes: int
    http_status: Optional[int] = None
    """The status the function answered; None when no answer came."""
    response_bytes: Optional[int] = None
    revision: Optional[str] = None
    tag: Optional[str] = None
    client_request_id: Optional[str] = None
    """The caller's own ``X-Request-Id``, kept to correlate."""
    cron: Optional[str] = None
    """``faas.cron`` of a schedule's run (trigger ``timer``)."""
    scheduled_time: Optional[str] = None
    """``faas.time`` of a schedule's run: when it was due (ISO 8601)."""
    error: Optional[InvocationError] = None
    logs: Optional[str] = None
    """What the code wrote during the invocation (only from :meth:`Functions.invocation`);
    None in a page, or when the runtime returned none (over 8 KiB of output)."""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "Invocation":
        error = doc.get("error")
        return cls(
            id=str(doc.get("id", "")),
            function=str(doc.get("function", "")),
            trigger=str(doc.get("trigger", "")),
            status=str(doc.get("status", "")),
            started_at=str(doc.get("startedAt", "")),
            duration_ms=float(doc.get("durationMs") or 0),
            request_bytes=int(doc.get("requestBytes") or 0),
            http_status=doc.get("httpStatus"),
            response_bytes=doc.get("responseBytes"),
            revision=doc.get("revision"),
            tag=doc.get("tag"),
            client_request_id=doc.get("clientRequestId"),
            cron=doc.get("cron"),
            scheduled_time=doc.get("scheduledTime"),
            error=None
            if not isinstance(error, Mapping)
            else InvocationError(
                type=str(error.get("type", "")),
                message=str(error.get("message", "")),
                stack=error.get("stack"),
            ),
            logs=doc.get("logs"),
        )


@dataclass(frozen=True)
class InvocationPage:
    """A page of a function's invocations, newest first; pass ``next_cursor`` as ``cursor``
    for the next one (None on the last page)."""

    items: List[Invocation]
    next_cursor: Optional[str] = None


class NotReadyError(HksError):
    """:meth:`Functions.deploy` waited ``wait_timeout`` seconds and the function is not ready,
    or its current version failed to start.

    ``function`` is the last :class:`FunctionInfo` seen (its ``reason`` and ``message`` say why).
    """

    def __init__(self, function: FunctionInfo, waited: float) -> None:
        self.function = function
        why = ": %s %s" % (function.reason or "", function.message or "") if function.reason else ""
        super().__init__(
            "function %r is not ready after %.0f s%s" % (function.name, waited, why.rstrip())
        )


TrafficEntry = Union[TrafficTarget, Mapping[str, Any]]


class Functions:
    """The functions of one project, through the user API (``/api/v1/projects/{project}``).

    :param api_url: base URL of the API (a trailing slash is fine). Default: ``HKS_API_URL``.
    :param token: user token granting the project. Default: ``HKS_TOKEN``.
    :param project: the project. Default: ``HKS_PROJECT``.
    :param request_timeout: seconds a request may take.
    """

    def __init__(
        self,
        api_url: Optional[str] = None,
        token: Optional[str] = None,
        project: Optional[str] = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self._http = HttpClient(
            require(api_url, "api_url", "HKS_API_URL"),
            require(token, "token", "HKS_TOKEN"),
            request_timeout,
        )
        self.project = require(project, "project", "HKS_PROJECT")
        self._base = "/api/v1/projects/" + quote(self.project)

    def _function(self, name: str, tail: str = "") -> str:
        return "%s/functions/%s%s" % (self._base, quote(name), tail)

    def deploy(
        self,
        name: str,
        code: Optional[str] = None,
        files: Optional[Mapping[str, str]] = None,
        runtime: str = "python3.12",
        handler: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        timeout_seconds: Optional[int] = None,
        replace: bool = True,
        wait: bool = True,
        wait_timeout: float = 120.0,
        **spec: Any,
    ) -> FunctionInfo:
        """Creates the function, or replaces it when it exists.

        The definition is a ``Function`` application; ``replace=True`` (the default) sends it
        with ``PUT /applications/{name}``, which creates or replaces, so deploying twice is
        harmless. ``replace=False`` creates with ``POST /applications`` and raises
        :class:`~hks_sdk.ConflictError` when the name is taken.

        :param code: source of a single module (``main.py`` / ``index.js``).
        :param files: several source files, ``{relative path: content}``; instead of ``code``.
        :param runtime: ``"python3.12"``, ``"nodejs20"`` or ``"image"``.
        :param handler: ``module.function``. Default: ``main.handler`` / ``index.handler``.
        :param env: environment variables.
        :param timeout_seconds: per-invocation time limit. Default: the platform's (30).
        :param wait: wait until the function is ready before returning; when it replaces a
            function, until the new revision is ready (see :meth:`wait_ready`).
        :param wait_timeout: seconds to wait; then :class:`NotReadyError`.
        :param spec: further spec fields as the API names them (``scaling``, ``resources``,
            ``visibility``, ``image``...).
        :returns: the function as the API reports it after the deploy (and the wait).
        :raises BadRequestError: the definition is invalid; ``errors`` name the fields.
        """
        body_spec: Dict[str, Any] = {"runtime": runtime}
        optional = {
            "code": code,
            "files": dict(files) if files is not None else None,
            "handler": handler,
            "env": dict(env) if env is not None else None,
            "timeoutSeconds": timeout_seconds,
        }
        body_spec.update({k: v for k, v in optional.items() if v is not None})
        body_spec.update(spec)
        definition = {
            "apiVersion": API_VERSION,
            "kind": "Function",
            "metadata": {"name": name, "project": self.project},
            "spec": body_spec,
        }
        if not replace:
            self._http.json("POST", self._base + "/applications", definition)
            return self.wait_ready(name, wait_timeout) if wait else self.get(name)
        previous = self._latest_revision(name) if wait else None
        self._http.json("PUT", "%s/applications/%s" % (self._base, quote(name)), definition)
        return self.wait_ready(name, wait_timeout, previous) if wait else self.get(name)

    def _latest_revision(self, name: str) -> Optional[str]:
        try:
            return self.get(name).latest_created_revision
        except NotFoundError:
            return None

    def wait_ready(
        self,
        name: str,
        timeout: float = 120.0,
        previous_revision: Optional[str] = None,
        interval: float = 0.25,
    ) -> FunctionInfo:
        """Polls until the function is ready and its latest revision serves; returns it.

        :param previous_revision: the latest revision before a change: wait for a newer one
            to be ready too. When none comes within :data:`SETTLE_SECONDS` while the
            function is ready (the change did not touch the revision template), the
            function is taken as it is.
        :raises NotReadyError: not ready within ``timeout`` seconds, or at once when its
            current version failed to start (``function.failed``).
        """
        start = time.monotonic()
        while True:
            info = self.get(name)
            waited = time.monotonic() - start
            serving = info.ready and info.latest_ready_revision == info.latest_created_revision
            moved_on = (
                previous_revision is None
                or info.latest_created_revision != previous_revision
                or waited >= SETTLE_SECONDS
            )
            if serving and moved_on:
                return info
            if info.failed or waited >= timeout:
                raise NotReadyError(info, waited)
            time.sleep(interval)

    def list(self) -> List[FunctionInfo]:
        """The functions of the project."""
        doc = self._http.json("GET", self._base + "/functions")
        return [FunctionInfo.from_json(item) for item in doc.get("items") or []]

    def get(self, name: str) -> FunctionInfo:
        """One function. :raises NotFoundError: no such function."""
        return FunctionInfo.from_json(self._http.json("GET", self._function(name)))

    def invoke(
        self,
        name: str,
        input: Any = None,
        tag: Optional[str] = None,
        raw: bool = False,
        timeout: Optional[float] = None,
        logs: bool = False,
    ) -> Any:
        """Calls the function with ``input`` as its JSON event.

        :param input: the event (anything JSON can encode); None sends no body.
        :param tag: a traffic tag; the call goes to that tagged revision.
        :param raw: return the :class:`InvokeResponse` (status, headers, body) as it is,
            whatever the status, instead of the decoded body.
        :param timeout: seconds the request may take. Default: the client's request timeout.
        :param logs: ask the function's runtime for this invocation's output (request header
            ``X-Hks-Log: tail``); it comes back as :attr:`InvokeResponse.logs` and
            :attr:`InvokeResponse.invocation`, so it needs ``raw=True``.
        :returns: the decoded body: JSON as Python values, text as ``str``, other content
            types as ``bytes``.
        :raises ValueError: ``logs=True`` without ``raw=True`` (nothing is sent).
        :raises ProblemError: (unless raw) a status of 400 or more: the function's own
            error response, or the API's problem, e.g. :class:`~hks_sdk.ServiceUnavailableError`
            when not ready, :class:`~hks_sdk.GatewayTimeoutError` past the function's timeout.
        """
        if logs and not raw:
            raise ValueError("logs=True needs raw=True: the logs come with the InvokeResponse")
        data = None if input is None else json.dumps(input).encode("utf-8")
        args = {
            "query": {"tag": tag},
            "body": data,
            "content_type": None if data is None else "application/json",
            "headers": {LOG_TAIL_HEADER: "tail"} if logs else None,
            "timeout": timeout,
        }
        path = self._function(name, "/invoke")
        if raw:
            try:
                response = self._http.request("POST", path, **args)
            except ProblemError as error:
                return InvokeResponse(error.status, error.headers, error.body_bytes)
            return InvokeResponse(response.status, response.headers, response.body)
        return _decode(self._http.request("POST", path, **args))

    def logs(self, name: str, since: Optional[str] = None, tail: Optional[int] = None) -> str:
        """The function's recent output (stdout and stderr of its pods).

        :param since: how far back, e.g. ``"30s"``, ``"5m"``, ``"1h"``.
        :param tail: at most this many lines, the last ones.
        """
        response = self._http.request(
            "GET", self._function(name, "/logs"), query={"since": since, "tail": tail}
        )
        return response.body.decode("utf-8", errors="replace")

    def follow_logs(
        self,
        name: str,
        since: Optional[str] = None,
        tail: Optional[int] = None,
        idle_timeout: Optional[float] = None,
    ) -> Iterator[str]:
        """Yields the function's log lines as they are written, until the stream ends or the
        caller stops iterating (close the generator to close the connection).

        :param idle_timeout: raise :class:`~hks_sdk.RequestTimeoutError` when no line comes
            for this many seconds. Default: wait forever.
        """
        return self._http.lines(
            self._function(name, "/logs"),
            query={"since": since, "tail": tail, "follow": True},
            timeout=NO_TIMEOUT if idle_timeout is None else idle_timeout,
        )

    def history(
        self,
        name: str,
        status: Optional[str] = None,
        trigger: Optional[str] = None,
        since: Optional[str] = None,
        until: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> InvocationPage:
        """One page of the function's invocation history, newest first (without logs).

        :param status: only invocations that ended so (``failed``, ``timeout``...).
        :param trigger: only those of this trigger (``http``, ``execute``).
        :param since: only those started at or after this ISO 8601 instant, e.g.
            ``"2026-01-31T02:30:00Z"``; ``until``: only those started before it.
        :param limit: items per page, 1 to 100 (the API's default: 20).
        :param cursor: ``next_cursor`` of the previous page.
        :raises ProblemError: a bad filter (400 naming it); :class:`NotFoundError` for a
            function that neither exists nor has history.
        """
        doc = self._http.json(
            "GET",
            self._function(name, "/invocations"),
            query={
                "status": status,
                "trigger": trigger,
                "since": since,
                "until": until,
                "limit": limit,
                "cursor": cursor,
            },
        )
        return InvocationPage(
            items=[Invocation.from_json(item) for item in doc.get("items") or []],
            next_cursor=doc.get("nextCursor"),
        )

    def invocation(self, name: str, invocation_id: str) -> Invocation:
        """One recorded invocation, with its logs. :raises NotFoundError: no such invocation."""
        return Invocation.from_json(
            self._http.json("GET", self._function(name, "/invocations/" + quote(invocation_id)))
        )

    def invoke_async(
        self,
        name: str,
        input: Any = None,
        callback_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        tag: Optional[str] = None,
    ) -> AsyncSubmission:
        """Queues an invocation with ``input`` as its JSON event (``Prefer: respond-async``).

        :param callback_url: an http(s) URL the signed result is POSTed to when it ends.
        :param idempotency_key: the same key (with the same event) gives the same invocation.
        :raises BadRequestError: a bad callback URL or key, naming it.
        :raises UnprocessableError: the key was used with another event.
        :raises ProblemError: 413 over the payload limit, 429 when the project's queue is full.
        """
        headers = {"prefer": "respond-async"}
        if callback_url is not None:
            headers["x-callback-url"] = callback_url
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        response = self._http.request(
            "POST",
            self._function(name, "/invoke"),
            query={"tag": tag},
            body=json.dumps(input).encode("utf-8"),
            content_type="application/json",
            headers=headers,
        )
        doc = response.json()
        return AsyncSubmission(
            id=str(doc["id"]),
            state=str(doc["state"]),
            location=str(doc["location"]),
            replayed=response.status == 200,
        )

    def async_invocation(self, name: str, invocation_id: str) -> AsyncInvocation:
        """One asynchronous invocation: state, attempts, result, callback delivery."""
        return AsyncInvocation.from_json(
            self._http.json("GET", self._function(name, "/async-invocations/" + quote(invocation_id)))
        )

    def async_invocations(
        self, name: str, state: Optional[str] = None, limit: Optional[int] = None
    ) -> List[AsyncInvocation]:
        """The function's asynchronous invocations, newest first, without result bodies."""
        doc = self._http.json(
            "GET", self._function(name, "/async-invocations"), query={"state": state, "limit": limit}
        )
        return [AsyncInvocation.from_json(item) for item in doc.get("items") or []]

    def cancel_invocation(self, name: str, invocation_id: str) -> AsyncInvocation:
        """Cancels a queued invocation. :raises ConflictError: it runs or has ended (named)."""
        return AsyncInvocation.from_json(
            self._http.json("DELETE", self._function(name, "/async-invocations/" + quote(invocation_id)))
        )

    def wait_invocation(
        self, name: str, invocation_id: str, timeout: float = 300, interval: float = 1
    ) -> AsyncInvocation:
        """Polls an asynchronous invocation until it is succeeded, dead or cancelled.

        :raises TimeoutError: it has not ended within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            invocation = self.async_invocation(name, invocation_id)
            if invocation.state in FINAL_STATES:
                return invocation
            if time.monotonic() > deadline:
                raise TimeoutError(
                    "invocation %s of %s is still %s after %s s" % (invocation_id, name, invocation.state, timeout)
                )
            time.sleep(interval)

    def callback_key(self) -> str:
        """The key the project's callbacks are signed with (see :func:`verify_callback`)."""
        return str(self._http.json("GET", self._base + "/async-callback-key")["key"])

    def usage(
        self,
        start: Optional[str] = None,
        end: Optional[str] = None,
        group_by: Optional[str] = None,
        function: Optional[str] = None,
        cronjob: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> UsageReport:
        """The project's usage and cost (``GET .../usage``): ``start``/``end`` ISO 8601 instants
        (default: the 30 days before now), ``group_by`` ``function`` (default), ``cronjob`` or
        ``day``, optionally one ``function`` or ``cronjob`` only.

        :raises ProblemError: a bad query (400 naming the field, the value and what is expected).
        """
        doc = self._http.json(
            "GET",
            self._base + "/usage",
            query={
                "from": start,
                "to": end,
                "groupBy": group_by,
                "function": function,
                "cronjob": cronjob,
                "limit": limit,
                "cursor": cursor,
            },
        )
        return UsageReport.from_json(doc)

    def schedules(self, name: str) -> List[FunctionSchedule]:
        """The function's schedules with their next runs and last run."""
        doc = self._http.json("GET", self._function(name, "/schedules"))
        return [FunctionSchedule.from_json(item) for item in doc.get("items") or []]

    def schedule_runs(
        self, name: str, schedule: str, limit: Optional[int] = None
    ) -> List[ScheduleRun]:
        """A schedule's runs, newest first (timer and manual); ``limit`` 1 to 100 (default 20)."""
        doc = self._http.json(
            "GET", self._function(name, "/schedules/%s/runs" % quote(schedule)), query={"limit": limit}
        )
        return [ScheduleRun.from_json(item) for item in doc.get("items") or []]

    def trigger_schedule(self, name: str, schedule: str, timeout: float = 900) -> ScheduleRun:
        """Runs a schedule now with its input; returns once the function has answered.

        :raises ConflictError: the schedule's policy is Forbid and a run still runs.
        """
        return ScheduleRun.from_json(
            self._http.json(
                "POST",
                self._function(name, "/schedules/%s/trigger" % quote(schedule)),
                timeout=timeout,
            )
        )

    def suspend_schedule(self, name: str, schedule: str) -> FunctionSchedule:
        """Stops new runs of a schedule (applies the definition with ``suspend: true``)."""
        return self._set_suspended(name, schedule, True)

    def resume_schedule(self, name: str, schedule: str) -> FunctionSchedule:
        """Runs a suspended schedule again from now on; times missed meanwhile are not run."""
        return self._set_suspended(name, schedule, False)

    def _set_suspended(self, name: str, schedule: str, suspend: bool) -> FunctionSchedule:
        return FunctionSchedule.from_json(
            self._http.json(
                "PATCH",
                self._function(name, "/schedules/%s" % quote(schedule)),
                body={"suspend": suspend},
                timeout=900,
            )
        )

    def revisions(self, name: str) -> List[Revision]:
        """The function's revisions, with each one's share of the traffic and tags."""
        doc = self._http.json("GET", self._function(name, "/revisions"))
        return [Revision.from_json(item) for item in doc.get("items") or []]

    def set_traffic(self, name: str, traffic: Sequence[TrafficEntry]) -> FunctionInfo:
        """Splits the traffic between revisions; the percentages must add up to 100.

        Entries are :class:`TrafficTarget` or dicts as the API names them, e.g.
        ``{"revision": "hello-00001", "percent": 90}``,
        ``{"latestRevision": True, "percent": 10, "tag": "canary"}``.
        """
        entries = [t.to_json() if isinstance(t, TrafficTarget) else dict(t) for t in traffic]
        doc = self._http.json("PUT", self._function(name, "/traffic"), {"traffic": entries})
        return FunctionInfo.from_json(doc)

    def delete(self, name: str) -> None:
        """Deletes the function (its application and every object of it).

        :raises NotFoundError: no such application.
        """
        self._http.request("DELETE", "%s/applications/%s" % (self._base, quote(name)))


def _decode(response: Response) -> Any:
    content_type = response.content_type
    if not response.body:
        return None
    if "json" in content_type:
        return response.json()
    if content_type.startswith("text/"):
        return response.body.decode("utf-8", errors="replace")
    return response.body


def _log_tail(headers: Mapping[str, str]) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    """(user output, invocation record) of an ``X-Hks-Log-Result`` header; (None, None) when
    there is none or it is not base64."""
    encoded = headers.get(LOG_RESULT_HEADER)
    if encoded is None:
        return None, None
    try:
        text = base64.b64decode(encoded.strip(), validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return None, None
    # The runtime writes its record of the invocation last; only that line is taken out, so a
    # handler's own JSON lines (context.logger) stay, whatever their message. Lines end at
    # "\n" only: the record's strings may hold other line separators (U+2028).
    head, newline, last = (text[:-1] if text.endswith("\n") else text).rpartition("\n")
    record = _invocation_record(last)
    if record is None:
        return text, None
    return head + newline, record


def _invocation_record(line: str) -> Optional[Dict[str, Any]]:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if isinstance(doc, dict) and doc.get("message") == "invocation" and "function" in doc:
        return doc
    return None


def execute(code: str, input: Any = None, timeout: int = 30, **options: Any) -> Any:
    """Runs ``code`` once, as :meth:`hks_sdk.FunctionExecutor.execute` does, with the API URL
    and token from the environment (``HKS_API_URL``; ``HKS_INTERNAL_TOKEN``, else
    ``HKS_TOKEN``; ``HKS_PROJECT``). Further keywords (``runtime``, ``handler``, ``env``) go to
    ``execute``.

    :returns: the :class:`~hks_sdk.ExecutionResult`, also a mapping: ``result["status"]``.
    :raises ValueError: ``HKS_API_URL`` or the token is not set.
    """
    from .executor import FunctionExecutor

    return FunctionExecutor().execute(code, input=input, timeout=timeout, **options)
