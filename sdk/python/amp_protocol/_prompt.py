"""to_system_prompt: the framework-agnostic helper.

Its wording is documented in the repository's docs/agents.md and is word for
word that of the Go client's ToSystemPrompt and the TypeScript SDK's
toSystemPrompt; the test suites of the three pin the same text.
"""

from typing import Mapping

from ._types import MotivationContext

_FRAMING: Mapping[str, str] = {
    "achievement": "Frame the task as an achievement: stress the result and the progress it marks.",
    "learning": "Frame the task as a chance to learn: stress what the user will understand or be able to do afterwards.",
    "micro_task": "Frame the task as a series of small, quick steps, and start with the first one.",
    "challenge": "Frame the task as a challenge worth taking on.",
}

_STYLE: Mapping[str, str] = {
    "brief_directive": "Be brief and directive: short sentences and clear next actions.",
    "detailed_explanatory": "Be detailed and explanatory: give the reason behind each step.",
    "conversational": "Be conversational and friendly.",
    "technical": "Be precise and technical: use exact terms.",
}

_COMPLEXITY: Mapping[str, str] = {
    "full_solution": "Give the full solution.",
    "break_into_steps": "Break the work into numbered steps.",
    "hints_only": "Give hints rather than the full solution, so that the user works it out.",
    "high_level": "Stay high level: outline the approach, not the details.",
}

_ENCOURAGEMENT: Mapping[str, str] = {
    "high": "Encourage the user warmly.",
    "moderate": "Encourage the user now and then.",
    "minimal": "Keep encouragement to a minimum.",
    "none": "Do not add encouragement.",
}


def _line(known: Mapping[str, str], value: str, dimension: str) -> str:
    return "- " + known.get(value, f"{dimension}: {value}.")


def to_system_prompt(context: MotivationContext) -> str:
    """Renders a context as a fragment of a system prompt.

    One instruction per adapted dimension, then AMP's rationale, headed by
    the request id to report the outcome with. A value this SDK does not know
    (from a newer server) is passed through as "<dimension>: <value>."
    rather than dropped::

        ctx = amp.get_context(user_id="user_123", task="write the release notes")
        system = "You are a helpful assistant.\\n\\n" + to_system_prompt(ctx)
    """
    lines = [
        f"Adapt how you present this task to the user (AMP request {context.request_id}):",
        _line(_FRAMING, context.suggested_framing, "Framing"),
        _line(_STYLE, context.communication_style, "Communication style"),
        _line(_COMPLEXITY, context.complexity, "Complexity"),
        _line(_ENCOURAGEMENT, context.encouragement, "Encouragement"),
    ]
    why = (context.rationale or "").strip()
    if why:
        lines.append(f"Why: {why}")
    return "\n".join(lines)
