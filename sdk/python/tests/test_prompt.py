"""to_system_prompt's wording, pinned: the Go client's ToSystemPrompt and the
TypeScript SDK's toSystemPrompt are tested against the same text."""

import dataclasses
import unittest

from amp_protocol import ContextMetadata, MotivationContext, to_system_prompt

BASE = MotivationContext(
    request_id="req_123",
    suggested_framing="micro_task",
    communication_style="brief_directive",
    complexity="break_into_steps",
    encouragement="moderate",
    confidence=0.4,
    rationale="Similar users finish more often with small steps.",
    metadata=ContextMetadata(profile_phase="cold_start", interaction_count=0, exploration_mode=True),
)


class ToSystemPromptTest(unittest.TestCase):
    def test_documented_wording(self) -> None:
        self.assertEqual(
            to_system_prompt(BASE),
            "Adapt how you present this task to the user (AMP request req_123):\n"
            "- Frame the task as a series of small, quick steps, and start with the first one.\n"
            "- Be brief and directive: short sentences and clear next actions.\n"
            "- Break the work into numbered steps.\n"
            "- Encourage the user now and then.\n"
            "Why: Similar users finish more often with small steps.",
        )

    def test_unknown_value_and_blank_rationale(self) -> None:
        ctx = dataclasses.replace(BASE, suggested_framing="storytelling", rationale=" ")  # type: ignore[arg-type]
        self.assertEqual(
            to_system_prompt(ctx),
            "Adapt how you present this task to the user (AMP request req_123):\n"
            "- Framing: storytelling.\n"
            "- Be brief and directive: short sentences and clear next actions.\n"
            "- Break the work into numbered steps.\n"
            "- Encourage the user now and then.",
        )

    def test_every_documented_value_has_a_sentence(self) -> None:
        ctx = dataclasses.replace(
            BASE, suggested_framing="challenge", communication_style="technical", complexity="high_level", encouragement="none"
        )
        self.assertEqual(
            to_system_prompt(ctx).split("\n")[1:5],
            [
                "- Frame the task as a challenge worth taking on.",
                "- Be precise and technical: use exact terms.",
                "- Stay high level: outline the approach, not the details.",
                "- Do not add encouragement.",
            ],
        )


if __name__ == "__main__":
    unittest.main()
