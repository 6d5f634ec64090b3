"""The AMP client: five methods over the standard library's urllib."""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import random as _random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar

from . import _errors
from ._errors import AMPError
from ._types import (
    CommunicationStyle,
    ComplexityLevel,
    EncouragementLevel,
    FramingType,
    MotivationContext,
    MotivationProfile,
    TaskComplexity,
)

__version__ = "0.1.0"

#: The hosted API; self-hosters point ``base_url`` (or AMP_BASE_URL) at their own ``amp serve``.
DEFAULT_BASE_URL = "https://api.amp-protocol.dev/v1"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2

_log = logging.getLogger("amp_protocol")

T = TypeVar("T")


class AMP:
    """The AMP client.

    >>> amp = AMP(api_key=os.environ.get("AMP_API_KEY"))
    >>> ctx = amp.get_context(user_id="user_123", task="build a login page")

    ``api_key`` defaults to the AMP_API_KEY environment variable, then AMP_KEY;
    ``base_url`` to AMP_BASE_URL, then https://api.amp-protocol.dev/v1.
    ``timeout`` (seconds) bounds the connection and each read of one attempt;
    ``max_retries`` is the number of retries after the first attempt.

    Rate limits (429) and unavailability (503) are retried after the server's
    ``retryAfter``; other 5xx, timeouts and dropped connections with
    exponential backoff and jitter (``retry_base_delay`` doubling up to
    ``retry_max_delay``, in seconds); other 4xx never. A server wait longer
    than ``max_retry_after`` seconds is not slept through: the error is raised
    at once so that the caller can degrade gracefully.

    ``sleep``, ``random`` and ``now`` replace ``time.sleep``,
    ``random.random`` and ``time.time`` (tests inject them).
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        max_retry_after: float = 60.0,
        sleep: Optional[Callable[[float], None]] = None,
        random: Optional[Callable[[], float]] = None,
        now: Optional[Callable[[], float]] = None,
    ) -> None:
        key = api_key or _env("AMP_API_KEY") or _env("AMP_KEY")
        if not key:
            raise AMPError(
                _errors.MISSING_API_KEY,
                "No AMP API key: pass api_key to AMP() or set the AMP_API_KEY environment variable.",
            )
        self._api_key = key
        self.base_url = (base_url or _env("AMP_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = _positive("timeout", timeout, DEFAULT_TIMEOUT)
        self.max_retries = _count("max_retries", max_retries, DEFAULT_MAX_RETRIES)
        self._retry_base_delay = _non_negative("retry_base_delay", retry_base_delay)
        self._retry_max_delay = _non_negative("retry_max_delay", retry_max_delay)
        self._max_retry_after = _non_negative("max_retry_after", max_retry_after)
        self._sleep = sleep or time.sleep
        self._random = random or _random.random
        self._now = now or time.time
        self._opener = urllib.request.build_opener()

    def __repr__(self) -> str:
        # Never the key: reprs end up in logs.
        return f"AMP(base_url={self.base_url!r})"

    def get_context(
        self,
        user_id: str,
        task: str,
        *,
        complexity: Optional[TaskComplexity] = None,
        task_type: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> MotivationContext:
        """Asks how to present a task to a user (POST /context). Keep the returned request_id."""
        body = _compact(
            {"userId": user_id, "task": task, "complexity": complexity, "taskType": task_type, "metadata": metadata}
        )
        data = self._request("POST", "/context", body, timeout, max_retries)
        return _decode(MotivationContext.from_json, data)

    def report_outcome(
        self,
        request_id: str,
        started: bool,
        *,
        completed: Optional[bool] = None,
        time_to_start: Optional[float] = None,
        flow_state: Optional[bool] = None,
        satisfaction: Optional[float] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> None:
        """Reports what the user did with a context (POST /outcome)."""
        body = _compact(
            {
                "requestId": request_id,
                "started": started,
                "completed": completed,
                "timeToStart": time_to_start,
                "flowState": flow_state,
                "satisfaction": satisfaction,
                "metadata": metadata,
            }
        )
        self._request("POST", "/outcome", body, timeout, max_retries, conflict_after_unknown_is_success=True)

    def update_profile(
        self,
        user_id: str,
        *,
        preferred_framing: Optional[FramingType] = None,
        communication_style: Optional[CommunicationStyle] = None,
        complexity_preference: Optional[ComplexityLevel] = None,
        encouragement_level: Optional[EncouragementLevel] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> MotivationProfile:
        """Sets some of a user's preferences (PUT /profile/{userId}).

        The fields left out keep their values; the profile is created if
        there is none. Returns the full profile.
        """
        body = _compact(
            {
                "preferredFraming": preferred_framing,
                "communicationStyle": communication_style,
                "complexityPreference": complexity_preference,
                "encouragementLevel": encouragement_level,
                "metadata": metadata,
            }
        )
        data = self._request("PUT", _profile_path(user_id), body, timeout, max_retries)
        return _decode(MotivationProfile.from_json, data)

    def get_profile(
        self, user_id: str, *, timeout: Optional[float] = None, max_retries: Optional[int] = None
    ) -> MotivationProfile:
        """Reads a user's full profile (GET /profile/{userId}); NOT_FOUND if the user has none."""
        data = self._request("GET", _profile_path(user_id), None, timeout, max_retries)
        return _decode(MotivationProfile.from_json, data)

    def delete_profile(self, user_id: str, *, timeout: Optional[float] = None, max_retries: Optional[int] = None) -> None:
        """Erases a user's profile, outcomes and pending requests (DELETE /profile/{userId})."""
        self._request("DELETE", _profile_path(user_id), None, timeout, max_retries)

    def _request(
        self,
        method: str,
        path: str,
        body: Optional[Dict[str, Any]],
        timeout: Optional[float],
        max_retries: Optional[int],
        *,
        conflict_after_unknown_is_success: bool = False,
    ) -> Any:
        timeout = _positive("timeout", timeout, self.timeout)
        retries = _count("max_retries", max_retries, self.max_retries)
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"amp-protocol-python/{__version__}",
        }
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")

        # True once an attempt failed in a way that may still have reached the
        # store (timeout, dropped connection, 5xx). A rate-limited request
        # "costs nothing and changes nothing" (docs/api.md, "Plans and limits").
        outcome_unknown = False
        attempt = 0
        while True:
            data, err, server_wait = self._attempt(method, path, headers, payload, timeout)
            if err is None:
                return data
            if conflict_after_unknown_is_success and outcome_unknown and err.code == "OUTCOME_ALREADY_REPORTED":
                # The earlier attempt was stored; its answer was lost.
                return None
            delay = self._retry_delay(err, server_wait, attempt) if attempt < retries else None
            if delay is None:
                raise err
            if err.status != 429:
                outcome_unknown = True
            _log.info(
                "AMP %s %s failed with %s (status %s); retry %d of %d in %.3f s",
                method,
                path,
                err.code,
                err.status,
                attempt + 1,
                retries,
                delay,
                extra={"amp_code": err.code, "amp_status": err.status, "amp_server_wait": server_wait, "amp_delay": delay},
            )
            self._sleep(delay)
            attempt += 1

    def _attempt(
        self, method: str, path: str, headers: Dict[str, str], payload: Optional[bytes], timeout: float
    ) -> Tuple[Any, Optional[AMPError], Optional[float]]:
        """One HTTP exchange: (data, None, None) on success, else (None, error, server's wait in s)."""
        req = urllib.request.Request(self.base_url + path, data=payload, headers=headers, method=method)
        what = f"{method} {path}"
        try:
            try:
                with self._opener.open(req, timeout=timeout) as resp:
                    status, text, resp_headers = resp.status, resp.read(), resp.headers
            except urllib.error.HTTPError as e:
                with e:
                    status, text, resp_headers = e.code, e.read(), e.headers
        except (socket.timeout, TimeoutError) as e:
            return None, _timeout(what, timeout, e), None
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                return None, _timeout(what, timeout, e), None
            return None, _connection_error(what, e.reason), None
        except (OSError, http.client.HTTPException) as e:
            return None, _connection_error(what, e), None

        header_request_id = resp_headers.get("X-Request-Id")
        if 200 <= status < 300:
            if not text:
                return None, None, None
            try:
                return json.loads(text), None, None
            except ValueError:
                return None, AMPError(
                    _errors.INVALID_RESPONSE,
                    f"{what} answered {status} with a body that is not JSON",
                    status=status,
                    request_id=header_request_id,
                ), None
        envelope = _error_object(text)
        err = _decode_error(status, envelope, text, header_request_id)
        return None, err, _server_wait(envelope, resp_headers.get("Retry-After"), self._now)

    def _retry_delay(self, err: AMPError, server_wait: Optional[float], attempt: int) -> Optional[float]:
        """Seconds to wait before retrying after err, or None when err must not be retried."""
        status = err.status
        if status is None:
            retryable = err.code in (_errors.TIMEOUT, _errors.CONNECTION_ERROR)
        else:
            retryable = (status == 429 and err.code != "QUOTA_EXCEEDED") or (status >= 500 and status != 501)
        if not retryable:
            return None
        if server_wait is not None:
            if server_wait > self._max_retry_after:
                return None
            # Jitter only adds to the server's wait, so that clients limited
            # together do not come back in the same instant.
            return server_wait + self._random() * min(server_wait * 0.1, 1.0)
        ceiling = min(self._retry_max_delay, self._retry_base_delay * float(2**attempt))
        return ceiling / 2 + self._random() * ceiling / 2


def _decode(from_json: Callable[[Any], T], data: Any) -> T:
    try:
        return from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise AMPError(_errors.INVALID_RESPONSE, f"unexpected response shape: {e!r}") from e


def _error_object(text: bytes) -> Optional[Dict[str, Any]]:
    """The ``error`` object of AMP's envelope in text, if text is one."""
    try:
        envelope = json.loads(text)
    except ValueError:
        return None
    error = envelope.get("error") if isinstance(envelope, dict) else None
    return error if isinstance(error, dict) else None


_CODE_FOR_STATUS = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def _decode_error(
    status: int, e: Optional[Dict[str, Any]], text: bytes, header_request_id: Optional[str]
) -> AMPError:
    if e is not None and isinstance(e.get("code"), str):
        message = e.get("message")
        details = e.get("details")
        request_id = e.get("requestId")
        return AMPError(
            e["code"],
            message if isinstance(message, str) else f"HTTP {status}",
            status=status,
            details=details if isinstance(details, dict) else None,
            request_id=request_id if isinstance(request_id, str) else header_request_id,
        )
    # Not AMP's envelope: a proxy or load balancer answered.
    snippet = text[:200].decode("utf-8", "replace")
    return AMPError(
        _CODE_FOR_STATUS.get(status, _errors.HTTP_ERROR),
        f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}",
        status=status,
        request_id=header_request_id,
    )


def _server_wait(e: Optional[Dict[str, Any]], header: Optional[str], now: Callable[[], float]) -> Optional[float]:
    """The wait in seconds the server asks for: details.retryAfter, else the Retry-After header."""
    details = e.get("details") if e is not None else None
    if isinstance(details, dict):
        v = details.get("retryAfter")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and v == v and v != float("inf"):
            return float(v)
    if header is None:
        return None
    h = header.strip()
    try:
        seconds = float(h)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if seconds >= 0 and seconds != float("inf") else None
    try:
        at = email.utils.parsedate_to_datetime(h)
    except (TypeError, ValueError, IndexError):
        return None
    if at is None:
        return None
    return max(0.0, at.timestamp() - now())


def _profile_path(user_id: str) -> str:
    if not isinstance(user_id, str) or user_id == "":
        raise AMPError("INVALID_USER_ID", "user_id must be a non-empty string")
    return "/profile/" + urllib.parse.quote(user_id, safe="")


def _compact(d: Dict[str, Any]) -> Dict[str, Any]:
    """Drops the parameters left at None: absent, not null, on the wire."""
    return {k: v for k, v in d.items() if v is not None}


def _timeout(what: str, timeout: float, cause: BaseException) -> AMPError:
    err = AMPError(_errors.TIMEOUT, f"{what} timed out after {timeout:g} s")
    err.__cause__ = cause
    return err


def _connection_error(what: str, cause: Any) -> AMPError:
    err = AMPError(_errors.CONNECTION_ERROR, f"{what} failed: {cause}")
    if isinstance(cause, BaseException):
        err.__cause__ = cause
    return err


def _env(name: str) -> Optional[str]:
    return os.environ.get(name) or None


def _positive(name: str, value: Optional[float], default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a number >= 0")
    return float(value)


def _count(name: str, value: Optional[int], default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0")
    return value
