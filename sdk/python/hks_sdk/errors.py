"""Errors raised by the SDK.

Every error is an :class:`HksError`. An error response of the API (an
``application/problem+json`` body, RFC 9457) becomes a :class:`ProblemError`, or the
subclass for its status (:class:`BadRequestError` for 400, :class:`NotFoundError` for 404,
...); a request that never got a response becomes a :class:`TransportError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Type


class HksError(Exception):
    """Base class of every error the SDK raises."""


class TransportError(HksError):
    """The request got no HTTP response: connection refused, DNS failure, reset, TLS..."""


class RequestTimeoutError(TransportError, TimeoutError):
    """No response within the request timeout (also a built-in :class:`TimeoutError`)."""


@dataclass(frozen=True)
class FieldError:
    """One failing field of a request, as the API names it."""

    path: str
    """Field path such as ``metadata.name`` or ``code``."""
    message: str
    """What was given and what is expected."""


class ProblemError(HksError):
    """An error response of the API.

    Attributes mirror the problem document: ``status``, ``type``, ``title``, ``detail``,
    ``errors`` (a list of :class:`FieldError`) and ``instance``; ``body`` is the response
    text (``body_bytes`` the bytes) and ``headers`` the response headers, names in lower
    case. Responses that are not ``application/problem+json`` (a proxy's HTML page, a
    function's own error response) become a ProblemError too, with the HTTP reason as
    title and the body as detail.

    ``str(error)`` shows the status, title, detail and one line per field error.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        type: str = "about:blank",
        errors: Optional[List[FieldError]] = None,
        instance: Optional[str] = None,
        body: str = "",
        headers: Optional[Mapping[str, str]] = None,
        body_bytes: Optional[bytes] = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors: List[FieldError] = list(errors or [])
        self.instance = instance
        self.body = body
        self.body_bytes = body.encode("utf-8") if body_bytes is None else body_bytes
        self.headers: Dict[str, str] = dict(headers or {})
        super().__init__(self._message())

    def _message(self) -> str:
        head = "%d %s" % (self.status, self.title)
        if self.detail:
            head += ": " + self.detail
        return "\n".join([head] + ["  %s: %s" % (e.path, e.message) for e in self.errors])

    def error_for(self, path: str) -> Optional[FieldError]:
        """The first field error whose path is ``path`` or starts with ``path.``/``path[``."""
        for e in self.errors:
            if e.path == path or e.path.startswith((path + ".", path + "[")):
                return e
        return None


class BadRequestError(ProblemError):
    """400: the request or definition is invalid; ``errors`` names the fields."""


class UnauthorizedError(ProblemError):
    """401: no token, or the token was rejected (expired, wrong key, no projects claim)."""


class ForbiddenError(ProblemError):
    """403: the token does not grant this project, or is the wrong kind of token."""


class NotFoundError(ProblemError):
    """404: no such application, function or execution."""


class ConflictError(ProblemError):
    """409: it already exists (``deploy(..., replace=False)`` of an existing name)."""


class UnprocessableError(ProblemError):
    """422: Kubernetes rejected the objects the definition produced."""


class BadGatewayError(ProblemError):
    """502: Kubernetes or the function was unreachable."""


class ServiceUnavailableError(ProblemError):
    """503: the function is not ready (yet)."""


class GatewayTimeoutError(ProblemError):
    """504: the function did not answer within its timeout."""


PROBLEM_CLASSES: Dict[int, Type[ProblemError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}


def problem_from_response(
    status: int, reason: str, content_type: str, body: bytes, headers: Mapping[str, str]
) -> ProblemError:
    """The :class:`ProblemError` (subclass) for an error response."""
    text = body.decode("utf-8", errors="replace")
    cls = PROBLEM_CLASSES.get(status, ProblemError)
    doc: Any = None
    if "json" in content_type:
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
    if not isinstance(doc, dict):
        detail = text.strip()
        if len(detail) > 500:
            detail = detail[:500] + "..."
        return cls(
            status, reason or "HTTP error", detail, body=text, headers=headers, body_bytes=body
        )
    errors = [
        FieldError(str(e.get("path", "")), str(e.get("message", "")))
        for e in doc.get("errors") or []
        if isinstance(e, dict)
    ]
    return cls(
        status,
        str(doc.get("title") or reason or "HTTP error"),
        str(doc.get("detail") or ""),
        type=str(doc.get("type") or "about:blank"),
        errors=errors,
        instance=doc.get("instance"),
        body=text,
        headers=headers,
        body_bytes=body,
    )


class ExecutionError(HksError):
    """Raised by :meth:`ExecutionResult.raise_for_error` when the code failed or timed out.

    ``result`` is the :class:`~hks_sdk.ExecutionResult`.
    """

    def __init__(self, result: Any) -> None:
        self.result = result
        error = result.error
        if result.status == "timeout":
            message = "execution %s timed out" % result.id
        elif error is not None:
            message = "execution %s failed: %s: %s" % (result.id, error.type, error.message)
        else:
            message = "execution %s ended with status %s" % (result.id, result.status)
        super().__init__(message)
