"""Verification of AMP webhook deliveries.

The AMP-Signature header is ``t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">``, with one ``v1`` per valid secret while a rolled
secret's grace period lasts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Dict, List, Optional, Union

SIGNATURE_HEADER = "AMP-Signature"
"""The header of a delivery that carries its signatures."""

DEFAULT_WEBHOOK_TOLERANCE = 300
"""Seconds a delivery's timestamp may be from the receiver's clock."""


class WebhookVerificationError(Exception):
    """A delivery that must not be trusted. ``reason`` is one of
    ``"header"``, ``"timestamp"``, ``"signature"`` or ``"body"``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def verify_webhook(
    payload: Union[bytes, str],
    header: Optional[str],
    secret: str,
    tolerance: float = DEFAULT_WEBHOOK_TOLERANCE,
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """Check a delivery and return its event as a dict.

    ``payload`` is the raw body as received (before any JSON parsing),
    ``header`` its AMP-Signature header, ``secret`` the endpoint's signing
    secret (``whsec_…``); ``tolerance`` is in seconds either side of
    ``now`` (default: the current time). Deduplicate by the event's
    ``id``: a delivery can arrive twice. Raises WebhookVerificationError.
    """
    body = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    timestamp: Optional[str] = None
    signatures: List[str] = []
    for part in (header or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookVerificationError("header", "malformed %s header" % SIGNATURE_HEADER)
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        raise WebhookVerificationError("header", "malformed %s header" % SIGNATURE_HEADER)
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise WebhookVerificationError("timestamp", "timestamp outside the tolerance window")
    expected = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(s, expected) for s in signatures):
        raise WebhookVerificationError("signature", "no signature matches the body and secret")
    try:
        event = json.loads(body.decode("utf-8"))
    except ValueError as e:
        raise WebhookVerificationError("body", "the signed body is not JSON") from e
    if not isinstance(event, dict):
        raise WebhookVerificationError("body", "the signed body is not an event object")
    return event
