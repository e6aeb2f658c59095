"""Fixtures: a real local HTTP server for the unit tests, the real API's settings for the rest."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import pytest

# The package is used from the source tree (PYTHONPATH=sdk/python), never installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass
class Recorded:
    """One request the local server received."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


Reply = Tuple[int, Dict[str, str], Union[bytes, List[bytes]]]
Handler = Callable[[Recorded], Reply]


def json_reply(status: int, doc: Any, content_type: str = "application/json") -> Reply:
    return status, {"Content-Type": content_type}, json.dumps(doc).encode("utf-8")


def problem(status: int, title: str, detail: str, errors: Optional[list] = None) -> Reply:
    doc: Dict[str, Any] = {
        "type": "https://hks.hexabase.io/problems/x",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        doc["errors"] = errors
    return json_reply(status, doc, "application/problem+json")


@dataclass
class LocalServer:
    """A real HTTP server on 127.0.0.1 answering from a queue of replies (or one handler)."""

    url: str
    requests: List[Recorded] = field(default_factory=list)
    replies: List[Union[Reply, Handler]] = field(default_factory=list)

    def reply(self, *replies: Union[Reply, Handler]) -> None:
        self.replies.extend(replies)


@pytest.fixture
def server():
    state: Dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            recorded = Recorded(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length) if length else b"",
            )
            local: LocalServer = state["server"]
            local.requests.append(recorded)
            reply = local.replies.pop(0) if local.replies else json_reply(200, {})
            status, headers, body = reply(recorded) if callable(reply) else reply
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if isinstance(body, list):  # streamed in chunks, with a pause between them
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in body:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    time.sleep(0.05)
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["server"] = LocalServer("http://127.0.0.1:%d" % httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state["server"]
    httpd.shutdown()
    httpd.server_close()


@dataclass(frozen=True)
class ApiSettings:
    """Where the real API runs and the tokens for it."""

    url: str
    token: str
    internal_token: str
    project: str


API_VARIABLES = ("HKS_API_URL", "HKS_TOKEN", "HKS_INTERNAL_TOKEN", "HKS_PROJECT")


@pytest.fixture(scope="session")
def api() -> ApiSettings:
    """The real API from the environment. Skips when unset outside CI; fails in CI."""
    missing = [name for name in API_VARIABLES if not os.environ.get(name)]
    if missing:
        message = "the real API is not configured: %s unset" % ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " (required when CI is set)")
        pytest.skip(message)
    return ApiSettings(*(os.environ[name] for name in API_VARIABLES))
