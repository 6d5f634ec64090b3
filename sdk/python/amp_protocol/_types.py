"""Wire types of the AMP API as typed dataclasses.

Field names are the snake_case forms of the API's camelCase JSON keys; enum
values are plain strings spelt exactly as the API sends them (``optimised``
is British), typed with ``Literal`` so that a checker catches a misspelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple, get_args

#: How a task is presented to the user.
FramingType = Literal["achievement", "learning", "micro_task", "challenge"]
#: How to communicate with the user.
CommunicationStyle = Literal["brief_directive", "detailed_explanatory", "conversational", "technical"]
#: How much of a task's complexity to hand the user at once (a context's
#: ``complexity`` and a profile's ``complexity_preference``).
ComplexityLevel = Literal["full_solution", "break_into_steps", "hints_only", "high_level"]
#: The amount of positivity in a response.
EncouragementLevel = Literal["high", "moderate", "minimal", "none"]
#: The caller's hint about a task's difficulty (the request's ``complexity``).
TaskComplexity = Literal["low", "medium", "high"]
#: The maturity of a user's profile.
ProfilePhase = Literal["cold_start", "learning", "optimised"]

FRAMING_TYPES: Tuple[str, ...] = get_args(FramingType)
COMMUNICATION_STYLES: Tuple[str, ...] = get_args(CommunicationStyle)
COMPLEXITY_LEVELS: Tuple[str, ...] = get_args(ComplexityLevel)
ENCOURAGEMENT_LEVELS: Tuple[str, ...] = get_args(EncouragementLevel)
TASK_COMPLEXITIES: Tuple[str, ...] = get_args(TaskComplexity)
PROFILE_PHASES: Tuple[str, ...] = get_args(ProfilePhase)


@dataclass(frozen=True)
class ContextMetadata:
    """How mature the profile behind a context is."""

    profile_phase: ProfilePhase
    interaction_count: int
    exploration_mode: bool

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "ContextMetadata":
        return cls(
            profile_phase=d["profilePhase"],
            interaction_count=int(d["interactionCount"]),
            exploration_mode=bool(d["explorationMode"]),
        )


@dataclass(frozen=True)
class MotivationContext:
    """The answer of ``get_context``: how to present this task to this user.

    Keep ``request_id``: ``report_outcome`` needs it.
    """

    request_id: str
    suggested_framing: FramingType
    communication_style: CommunicationStyle
    complexity: ComplexityLevel
    encouragement: EncouragementLevel
    confidence: float
    rationale: str
    metadata: ContextMetadata

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "MotivationContext":
        return cls(
            request_id=d["requestId"],
            suggested_framing=d["suggestedFraming"],
            communication_style=d["communicationStyle"],
            complexity=d["complexity"],
            encouragement=d["encouragement"],
            confidence=float(d["confidence"]),
            rationale=d["rationale"],
            metadata=ContextMetadata.from_json(d["metadata"]),
        )


@dataclass(frozen=True)
class TimePattern:
    """Completion rate of the outcomes whose context was asked within [hour_start, hour_end] UTC."""

    hour_start: int
    hour_end: int
    completion_rate: float
    interaction_count: int

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "TimePattern":
        return cls(
            hour_start=int(d["hourStart"]),
            hour_end=int(d["hourEnd"]),
            completion_rate=float(d["completionRate"]),
            interaction_count=int(d["interactionCount"]),
        )


@dataclass(frozen=True)
class MotivationProfile:
    """A user's motivation profile, as the profile methods return it."""

    user_id: str
    preferred_framing: FramingType
    communication_style: CommunicationStyle
    complexity_preference: ComplexityLevel
    encouragement_level: EncouragementLevel

    total_interactions: int
    completion_rate: float
    average_time_to_start: float
    flow_state_frequency: float

    framing_confidence: float
    style_confidence: float
    complexity_confidence: float

    task_type_affinities: Dict[str, float]
    time_of_day_patterns: List[TimePattern]

    created_at: datetime
    last_updated: datetime
    profile_version: str

    profile_phase: ProfilePhase
    metadata: Optional[Dict[str, Any]] = field(default=None)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "MotivationProfile":
        return cls(
            user_id=d["userId"],
            preferred_framing=d["preferredFraming"],
            communication_style=d["communicationStyle"],
            complexity_preference=d["complexityPreference"],
            encouragement_level=d["encouragementLevel"],
            total_interactions=int(d["totalInteractions"]),
            completion_rate=float(d["completionRate"]),
            average_time_to_start=float(d["averageTimeToStart"]),
            flow_state_frequency=float(d["flowStateFrequency"]),
            framing_confidence=float(d["framingConfidence"]),
            style_confidence=float(d["styleConfidence"]),
            complexity_confidence=float(d["complexityConfidence"]),
            task_type_affinities={str(k): float(v) for k, v in (d.get("taskTypeAffinities") or {}).items()},
            time_of_day_patterns=[TimePattern.from_json(p) for p in (d.get("timeOfDayPatterns") or [])],
            created_at=parse_timestamp(d["createdAt"]),
            last_updated=parse_timestamp(d["lastUpdated"]),
            profile_version=d["profileVersion"],
            profile_phase=d["profilePhase"],
            metadata=d.get("metadata"),
        )


_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp(value: str) -> datetime:
    """Parses an RFC 3339 timestamp into an aware datetime.

    The server may send nanoseconds and a ``Z`` suffix, which
    ``datetime.fromisoformat`` refuses before Python 3.11: both are
    normalised first (fractions are cut to microseconds).
    """
    if not isinstance(value, str):
        raise TypeError(f"timestamp must be a string, not {type(value).__name__}")
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    s = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), s, count=1)
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt
