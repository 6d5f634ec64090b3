"""amp_protocol: the Python client of AMP, the Adaptive Motivation Protocol.

    from amp_protocol import AMP
    import os

    amp = AMP(api_key=os.environ.get("AMP_API_KEY"))
    ctx = amp.get_context(user_id="user_123", task="build a login page")
    amp.report_outcome(request_id=ctx.request_id, started=True, completed=True)

Standard library only; every failed call raises AMPError.
"""

from ._client import AMP, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, __version__
from ._errors import AMPError
from ._prompt import to_system_prompt
from ._webhook import DEFAULT_WEBHOOK_TOLERANCE, SIGNATURE_HEADER, WebhookVerificationError, verify_webhook
from ._types import (
    COMMUNICATION_STYLES,
    COMPLEXITY_LEVELS,
    ENCOURAGEMENT_LEVELS,
    FRAMING_TYPES,
    PROFILE_PHASES,
    TASK_COMPLEXITIES,
    CommunicationStyle,
    ComplexityLevel,
    ContextMetadata,
    EncouragementLevel,
    FramingType,
    MotivationContext,
    MotivationProfile,
    ProfilePhase,
    TaskComplexity,
    TimePattern,
)

__all__ = [
    "AMP",
    "AMPError",
    "DEFAULT_WEBHOOK_TOLERANCE",
    "SIGNATURE_HEADER",
    "WebhookVerificationError",
    "verify_webhook",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "__version__",
    "COMMUNICATION_STYLES",
    "COMPLEXITY_LEVELS",
    "ENCOURAGEMENT_LEVELS",
    "FRAMING_TYPES",
    "PROFILE_PHASES",
    "TASK_COMPLEXITIES",
    "CommunicationStyle",
    "ComplexityLevel",
    "ContextMetadata",
    "EncouragementLevel",
    "FramingType",
    "MotivationContext",
    "MotivationProfile",
    "ProfilePhase",
    "TaskComplexity",
    "TimePattern",
    "to_system_prompt",
]
