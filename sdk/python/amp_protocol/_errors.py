"""The one exception type of the client."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

#: Codes the client raises itself, when there is no API answer to decode.
MISSING_API_KEY = "MISSING_API_KEY"
TIMEOUT = "TIMEOUT"
CONNECTION_ERROR = "CONNECTION_ERROR"
INVALID_RESPONSE = "INVALID_RESPONSE"
HTTP_ERROR = "HTTP_ERROR"


class AMPError(Exception):
    """A failed AMP call.

    ``code`` is the API's error code (``RATE_LIMIT_EXCEEDED``, ``NOT_FOUND``…)
    or one of the client's own (``TIMEOUT``, ``CONNECTION_ERROR``,
    ``MISSING_API_KEY``, ``INVALID_RESPONSE``, ``HTTP_ERROR``); ``status`` is
    the HTTP status, or None when no response arrived; ``request_id`` is the
    server's ``req_…`` id of the failed request (quote it to support).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: Optional[int] = None,
        details: Optional[Mapping[str, Any]] = None,
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details: Dict[str, Any] = dict(details or {})
        self.request_id = request_id

    def __str__(self) -> str:
        where = []
        if self.status is not None:
            where.append(f"HTTP {self.status}")
        if self.request_id:
            where.append(f"request {self.request_id}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.code}: {self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"AMPError(code={self.code!r}, message={self.message!r}, status={self.status!r}, "
            f"details={self.details!r}, request_id={self.request_id!r})"
        )
