"""A small agent built on AMP.

1. It asks AMP how to present the user's task to this user (get_context).
2. It turns that recommendation into a system prompt for its model.
3. It answers, then asks the user what they did with the answer.
4. It reports that outcome (report_outcome), which is how AMP learns.

The model is a stand-in that runs offline; replace ``model`` with a call to
your LLM. If AMP is unreachable the agent carries on with a default context:
the agent must never fail because AMP failed.

    AMP_API_KEY=amp_sk_test_… AMP_BASE_URL=http://127.0.0.1:8080/v1 \\
        python3 agent.py --user user_123 --type coding "build a login page"
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import List, Optional

from amp_protocol import AMP, AMPError, ContextMetadata, MotivationContext, to_system_prompt

#: The context used when AMP cannot be reached: AMP's own population default framing.
FALLBACK = MotivationContext(
    request_id="",
    suggested_framing="achievement",
    communication_style="conversational",
    complexity="break_into_steps",
    encouragement="moderate",
    confidence=0.0,
    rationale="AMP unavailable: default context",
    metadata=ContextMetadata(profile_phase="cold_start", interaction_count=0, exploration_mode=False),
)

log = logging.getLogger("agent")


def system_prompt(ctx: MotivationContext) -> str:
    """Turns AMP's recommendation into instructions for the model, with the SDK's helper."""
    return "You are a helpful assistant.\n\n" + to_system_prompt(ctx)


def model(system: str, task: str) -> str:
    """Stand-in for an LLM call: replace with your model client."""
    n = sum(1 for line in system.splitlines() if line.startswith("- "))
    return f'(a model following the system prompt above would now answer: "{task}")\n{n} instructions applied.'


def ask(question: str) -> str:
    print(question, end=" ", flush=True)
    line = sys.stdin.readline()
    return line.strip().lower()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="A small agent that adapts its prompt with AMP.")
    parser.add_argument("--user", default="user_123", help="your end user's id")
    parser.add_argument("--type", dest="task_type", help="task type, e.g. coding, debugging, writing")
    parser.add_argument("task", nargs="*", help="what the user wants to do")
    args = parser.parse_args(argv)
    task = " ".join(args.task) or "build a login page"

    # Key and base URL from AMP_API_KEY (or AMP_KEY) and AMP_BASE_URL.
    amp = AMP()

    ctx = FALLBACK
    try:
        ctx = amp.get_context(user_id=args.user, task=task, task_type=args.task_type)
    except AMPError as err:
        log.warning("AMP unavailable (%s: %s); using a default context", err.code, err.message)

    system = system_prompt(ctx)
    print(f"--- system prompt ({ctx.metadata.profile_phase}, confidence {ctx.confidence:.2f}) ---")
    print(system)
    print(f"--- why: {ctx.rationale}")
    print("--- answer ---")
    print(model(system, task))
    answered_at = time.monotonic()

    started = ask("Did you start the task? [y/n]").startswith("y")
    time_to_start = time.monotonic() - answered_at
    completed = flow_state = False
    satisfaction = None
    if started:
        completed = ask("Did you finish it? [y/n]").startswith("y")
        flow_state = ask("Were you in the flow? [y/n]").startswith("y")
        try:
            score = float(ask("How satisfied were you, 0-10?"))
            if 0 <= score <= 10:
                satisfaction = score / 10
        except ValueError:
            pass

    if not ctx.request_id:
        return 0  # nothing to report against the fallback
    try:
        amp.report_outcome(
            request_id=ctx.request_id,
            started=started,
            completed=completed,
            time_to_start=time_to_start if started else None,
            flow_state=flow_state,
            satisfaction=satisfaction,
        )
        print(f"\nOutcome reported for {ctx.request_id}.")
    except AMPError as err:
        log.warning("outcome not reported (%s: %s)", err.code, err.message)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    sys.exit(main())
