"""The HTTP layer: request building, JSON in and out, error mapping (urllib only)."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, Mapping, Optional

from ._version import __version__
from .errors import RequestTimeoutError, TransportError, problem_from_response

USER_AGENT = "hks-sdk-python/" + __version__

DEFAULT_REQUEST_TIMEOUT = 30.0
"""Seconds a request may take before :class:`~hks_sdk.RequestTimeoutError`."""

NO_TIMEOUT: Any = object()
"""A request ``timeout`` meaning: wait as long as it takes (streams that are followed)."""


def from_env(value: Optional[str], *names: str) -> Optional[str]:
    """``value``, or the first of the environment variables ``names`` that is set."""
    if value:
        return value
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None


def require(value: Optional[str], what: str, *names: str) -> str:
    """:func:`from_env`, raising ValueError naming the argument and variables when unset."""
    found = from_env(value, *names)
    if not found:
        raise ValueError("%s: not given and %s is not set" % (what, " / ".join(names)))
    return found


@dataclass(frozen=True)
class Response:
    """A response of the API, body read."""

    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


def quote(segment: str) -> str:
    """One path segment, percent-encoded."""
    return urllib.parse.quote(segment, safe="")


class HttpClient:
    """Sends requests to one API with one bearer token."""

    def __init__(
        self, api_url: str, token: str, request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    ) -> None:
        parsed = urllib.parse.urlsplit(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                "api_url: given %r, expected an http(s) URL such as http://127.0.0.1:8080"
                % api_url
            )
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.request_timeout = request_timeout

    def url(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        """The absolute URL of ``path`` (starting with ``/``) with the query's set values."""
        url = self.api_url + path
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        return url + ("?" + urllib.parse.urlencode(params) if params else "")

    def _open(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, Any]],
        body: Optional[bytes],
        content_type: Optional[str],
        headers: Optional[Mapping[str, str]],
        timeout: Optional[float],
    ) -> Any:
        request = urllib.request.Request(self.url(path, query), data=body, method=method)
        request.add_header("Authorization", "Bearer " + self.token)
        request.add_header("User-Agent", USER_AGENT)
        request.add_header("Accept", "application/json, application/problem+json, */*")
        if content_type is not None:
            request.add_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        limit = self.request_timeout if timeout is None else timeout
        try:
            if limit is NO_TIMEOUT:
                return urllib.request.urlopen(request)
            return urllib.request.urlopen(request, timeout=limit)
        except urllib.error.HTTPError as error:
            with error:
                payload = error.read()
                response_headers = _headers(error.headers)
            raise problem_from_response(
                error.code,
                str(error.reason or ""),
                response_headers.get("content-type", ""),
                payload,
                response_headers,
            ) from None
        except (socket.timeout, TimeoutError) as error:
            raise RequestTimeoutError(
                "%s %s: no response within %s s" % (method, request.full_url, limit)
            ) from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, (socket.timeout, TimeoutError)):
                raise RequestTimeoutError(
                    "%s %s: no response within %s s" % (method, request.full_url, limit)
                ) from error
            raise TransportError(
                "%s %s: %s" % (method, request.full_url, error.reason)
            ) from error
        except (OSError, ValueError) as error:  # reset, http.client errors, bad URL
            raise TransportError("%s %s: %s" % (method, request.full_url, error)) from error

    def request(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, Any]] = None,
        body: Optional[bytes] = None,
        content_type: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """Sends a request; a 2xx comes back as a :class:`Response`, anything else raises."""
        with self._open(method, path, query, body, content_type, headers, timeout) as response:
            try:
                payload = response.read()
            except (socket.timeout, TimeoutError) as error:
                raise RequestTimeoutError(
                    "%s %s: the response body did not arrive in time" % (method, path)
                ) from error
            except OSError as error:
                raise TransportError("%s %s: %s" % (method, path, error)) from error
            return Response(response.status, _headers(response.headers), payload)

    def json(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Sends ``body`` as JSON (when not None) and returns the decoded JSON response."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        response = self.request(
            method,
            path,
            query=query,
            body=data,
            content_type=None if data is None else "application/json",
            timeout=timeout,
        )
        return response.json()

    def lines(
        self, path: str, query: Optional[Mapping[str, Any]] = None, timeout: Optional[float] = None
    ) -> Iterator[str]:
        """GETs a text stream and yields it line by line (without the line ending)."""
        with self._open("GET", path, query, None, None, None, timeout) as response:
            while True:
                try:
                    line = response.readline()
                except (socket.timeout, TimeoutError) as error:
                    raise RequestTimeoutError(
                        "GET %s: no log line within %s s" % (path, timeout)
                    ) from error
                except OSError as error:
                    raise TransportError("GET %s: %s" % (path, error)) from error
                if not line:
                    return
                yield line.decode("utf-8", errors="replace").rstrip("\r\n")


def _headers(message: Any) -> Dict[str, str]:
    return {k.lower(): v for k, v in message.items()} if message is not None else {}


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
