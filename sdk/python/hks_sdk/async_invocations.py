"""Asynchronous invocations of functions: queued by the API, retried, their result kept.

See docs/async-invocations.md. :class:`~hks_sdk.Functions` submits and reads them:
``invoke_async``, ``async_invocation``, ``async_invocations``, ``cancel_invocation``,
``wait_invocation``, ``callback_key``; :func:`verify_callback` checks a callback's signature.
"""
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

FINAL_STATES = ("succeeded", "dead", "cancelled")
"""States an asynchronous invocation does not leave."""


@dataclass(frozen=True)
class AsyncSubmission:
    """The answer to :meth:`~hks_sdk.Functions.invoke_async`.

    ``replayed`` is true when the idempotency key already named this invocation (200, not 202).
    """

    id: str
    state: str
    location: str
    replayed: bool = False


@dataclass(frozen=True)
class AsyncInvocation:
    """An asynchronous invocation: ``state`` is ``queued``, ``running``, ``succeeded``,
    ``failed-retrying``, ``dead`` or ``cancelled``; ``attempt_ids`` are its attempts' ids in
    the invocation history; ``result`` the function's answer to the last attempt (``status``,
    ``contentType``, ``bytes``, ``truncated`` and ``body`` as text or ``bodyBase64``)."""

    id: str
    function: str
    state: str
    attempts: int
    max_attempts: int
    created_at: str
    attempt_ids: List[str] = field(default_factory=list)
    finished_at: Optional[str] = None
    next_attempt_at: Optional[str] = None
    duration_ms: Optional[float] = None
    last_error: Optional[str] = None
    idempotency_key: Optional[str] = None
    callback_url: Optional[str] = None
    callback: Optional[Dict[str, Any]] = None
    result: Optional[Dict[str, Any]] = None
    updated_at: str = ""
    request_bytes: int = 0
    tag: Optional[str] = None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "AsyncInvocation":
        return cls(
            id=str(doc.get("id", "")),
            function=str(doc.get("function", "")),
            state=str(doc.get("state", "")),
            attempts=int(doc.get("attempts") or 0),
            max_attempts=int(doc.get("maxAttempts") or 0),
            created_at=str(doc.get("createdAt", "")),
            attempt_ids=[str(i) for i in doc.get("attemptIds") or []],
            finished_at=doc.get("finishedAt"),
            next_attempt_at=doc.get("nextAttemptAt"),
            duration_ms=doc.get("durationMs"),
            last_error=doc.get("lastError"),
            idempotency_key=doc.get("idempotencyKey"),
            callback_url=doc.get("callbackUrl"),
            callback=doc.get("callback"),
            result=doc.get("result"),
            updated_at=str(doc.get("updatedAt", "")),
            request_bytes=int(doc.get("requestBytes") or 0),
            tag=doc.get("tag"),
        )


def sign_callback(key: str, body: bytes, timestamp: int) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">``, as the API signs callbacks."""
    mac = hmac.new(key.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "t=%d,v1=%s" % (timestamp, mac.hexdigest())


def verify_callback(
    key: str, body: bytes, header: str, tolerance: int = 300, now: Optional[float] = None
) -> bool:
    """Whether ``header`` (``X-Hks-Signature``) is ``key``'s signature of ``body``, made at most
    ``tolerance`` seconds ago (an old callback sent again fails)."""
    fields = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign_callback(key, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
