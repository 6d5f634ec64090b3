"""A local HTTP server for the unit tests.

It records every request and answers through a handler that each test sets.
``amp_emulator`` is a handler that follows AMP's wire contract closely enough
to run the docs' snippets and the example agent without the real server.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional


@dataclass
class Recorded:
    method: str
    #: The raw request target, percent-encoding kept, e.g. /v1/profile/a%2Fb.
    path: str
    headers: Any  # http.client.HTTPMessage: case-insensitive .get()
    #: The body parsed as JSON, or None when there was none.
    body: Any
    raw: bytes


_seq = itertools.count(1)


class Reply:
    """What a handler uses to answer one request."""

    def __init__(self, handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        self._h = handler
        self._stop = stop

    def json(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> None:
        headers = dict(headers or {})
        data = json.dumps(body).encode()
        self._h.send_response(status)
        self._h.send_header("Content-Type", "application/json")
        self._h.send_header("Content-Length", str(len(data)))
        self._h.send_header("X-Request-Id", headers.pop("X-Request-Id", f"req_fake{next(_seq)}"))
        for k, v in headers.items():
            self._h.send_header(k, v)
        self._h.end_headers()
        self._h.wfile.write(data)

    def error(
        self,
        status: int,
        code: str,
        message: str,
        details: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        request_id = f"req_err{next(_seq)}"
        err: Dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            err["details"] = details
        err.update(requestId=request_id, timestamp="1970-01-01T00:00:00Z")
        self.json(status, {"error": err}, {"X-Request-Id": request_id, **(headers or {})})

    def raw(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self._h.send_response(status)
        self._h.send_header("Content-Type", content_type)
        self._h.send_header("Content-Length", str(len(body)))
        self._h.end_headers()
        self._h.wfile.write(body)

    def hang(self) -> None:
        """Never answers (until the server closes): for timeouts."""
        self._stop.wait(60)

    def stall_body(self) -> None:
        """Sends the headers and part of the body, then nothing."""
        self._h.send_response(200)
        self._h.send_header("Content-Type", "application/json")
        self._h.send_header("Content-Length", "100")
        self._h.end_headers()
        self._h.wfile.write(b'{"requestId": "req_')
        self._h.wfile.flush()
        self._stop.wait(60)

    def drop(self) -> None:
        """Closes the connection without an answer."""
        self._h.close_connection = True
        self._h.connection.shutdown(socket.SHUT_RDWR)


Handler = Callable[[Recorded, Reply], None]


def _no_handler(_req: Recorded, reply: Reply) -> None:
    reply.error(404, "NOT_FOUND", "no handler set")


class FakeServer:
    def __init__(self) -> None:
        self.requests: List[Recorded] = []
        self.handler: Handler = _no_handler
        self._stop = threading.Event()
        fake = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                rec = Recorded(self.command, self.path, self.headers, json.loads(raw) if raw else None, raw)
                fake.requests.append(rec)
                fake.handler(rec, Reply(self, fake._stop))

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self, handler: Handler) -> None:
        """Sets the handler and forgets earlier requests."""
        self.requests.clear()
        self.handler = handler

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def sequence(*handlers: Handler) -> Handler:
    """Answers with the handlers in turn, one per request, then repeats the last."""
    calls = itertools.count()

    def handle(req: Recorded, reply: Reply) -> None:
        handlers[min(next(calls), len(handlers) - 1)](req, reply)

    return handle


def sample_context(request_id: str = "req_abc123") -> Dict[str, Any]:
    return {
        "requestId": request_id,
        "suggestedFraming": "micro_task",
        "communicationStyle": "brief_directive",
        "complexity": "break_into_steps",
        "encouragement": "moderate",
        "confidence": 0.87,
        "rationale": "User has 85% completion rate with step-by-step guidance",
        "metadata": {"profilePhase": "optimised", "interactionCount": 47, "explorationMode": False},
    }


def sample_profile(user_id: str, **overrides: Any) -> Dict[str, Any]:
    p: Dict[str, Any] = {
        "userId": user_id,
        "preferredFraming": "achievement",
        "communicationStyle": "brief_directive",
        "complexityPreference": "break_into_steps",
        "encouragementLevel": "minimal",
        "totalInteractions": 3,
        "completionRate": 0.66,
        "averageTimeToStart": 12.5,
        "flowStateFrequency": 0.33,
        "framingConfidence": 0.3,
        "styleConfidence": 0.25,
        "complexityConfidence": 0.2,
        "taskTypeAffinities": {"coding": 0.8},
        "timeOfDayPatterns": [{"hourStart": 9, "hourEnd": 11, "completionRate": 1, "interactionCount": 2}],
        "createdAt": "2024-01-15T10:30:00.123456789Z",
        "lastUpdated": "2024-01-16T08:00:00Z",
        "profileVersion": "2.1",
        "profilePhase": "cold_start",
    }
    p.update(overrides)
    return p


_ENUMS = {
    "preferredFraming": ("achievement", "learning", "micro_task", "challenge"),
    "communicationStyle": ("brief_directive", "detailed_explanatory", "conversational", "technical"),
    "complexityPreference": ("full_solution", "break_into_steps", "hints_only", "high_level"),
    "encouragementLevel": ("high", "moderate", "minimal", "none"),
}
_PROFILE = re.compile(r"^/v1/profile/([^/?]+)$")


def amp_emulator(api_key: str) -> Handler:
    """An in-memory stand-in for ``amp serve`` following the wire contract's
    routes, bearer auth and error codes (no learning: every context is the
    same recommendation)."""
    profiles: Dict[str, Dict[str, Any]] = {}
    pending: Dict[str, Dict[str, Any]] = {}
    seq = itertools.count(1)
    lock = threading.Lock()

    def profile_of(user_id: str) -> Dict[str, Any]:
        if user_id not in profiles:
            profiles[user_id] = sample_profile(user_id, totalInteractions=0)
        return profiles[user_id]

    def handle(req: Recorded, reply: Reply) -> None:
        with lock:
            serve(req, reply)

    def serve(req: Recorded, reply: Reply) -> None:
        if req.headers.get("Authorization") != f"Bearer {api_key}":
            reply.error(401, "UNAUTHORIZED", "Invalid API key.")
            return
        body = req.body if isinstance(req.body, dict) else {}
        m = _PROFILE.match(req.path)
        if req.method == "POST" and req.path == "/v1/context":
            if not isinstance(body.get("userId"), str) or not body["userId"]:
                reply.error(400, "INVALID_USER_ID", "userId is required.")
                return
            if not isinstance(body.get("task"), str) or not body["task"]:
                reply.error(400, "INVALID_TASK", "task is required.")
                return
            p = profile_of(body["userId"])
            request_id = f"req_emu{next(seq)}"
            pending[request_id] = {"userId": body["userId"], "reported": False}
            ctx = sample_context(request_id)
            ctx["metadata"] = {
                "profilePhase": "cold_start",
                "interactionCount": p["totalInteractions"],
                "explorationMode": True,
            }
            reply.json(200, ctx, {"X-Request-Id": request_id})
        elif req.method == "POST" and req.path == "/v1/outcome":
            r = pending.get(str(body.get("requestId")))
            if r is None:
                reply.error(404, "INVALID_REQUEST_ID", "Request ID not found.")
            elif r["reported"]:
                reply.error(409, "OUTCOME_ALREADY_REPORTED", "Outcome already reported for this request.")
            elif not isinstance(body.get("started"), bool):
                reply.error(400, "INVALID_REQUEST", "started is required.")
            else:
                r["reported"] = True
                profile_of(r["userId"])["totalInteractions"] += 1
                reply.json(200, {"success": True, "message": "Outcome reported successfully"})
        elif m:
            user_id = urllib.parse.unquote(m.group(1))
            if req.method in ("GET", "DELETE"):
                if user_id not in profiles:
                    reply.error(404, "NOT_FOUND", "Profile not found.")
                elif req.method == "GET":
                    reply.json(200, profiles[user_id])
                else:
                    del profiles[user_id]
                    reply.json(200, {"success": True})
            elif req.method == "PUT":
                for key, value in body.items():
                    if key != "metadata" and key not in _ENUMS:
                        reply.error(400, "INVALID_REQUEST", f"unknown field {key}")
                        return
                    if key in _ENUMS and value not in _ENUMS[key]:
                        reply.error(400, "INVALID_PREFERENCE", f"invalid {key}")
                        return
                p = profile_of(user_id)
                p.update(body)
                p["lastUpdated"] = "2024-01-17T00:00:00Z"
                reply.json(200, p)
            else:
                reply.error(405, "METHOD_NOT_ALLOWED", "Method not allowed.", headers={"Allow": "GET, PUT, DELETE"})
        else:
            reply.error(404, "NOT_FOUND", "Unknown route.")

    return handle
