// toSystemPrompt: the framework-agnostic helper. Its wording is documented
// in the repository's docs/agents.md and is word for word that of the Go
// client's ToSystemPrompt and the Python SDK's to_system_prompt; the test
// suites of the three pin the same text.
import type { MotivationContext } from './types.js';

const FRAMING: Record<string, string> = {
  achievement: 'Frame the task as an achievement: stress the result and the progress it marks.',
  learning: 'Frame the task as a chance to learn: stress what the user will understand or be able to do afterwards.',
  micro_task: 'Frame the task as a series of small, quick steps, and start with the first one.',
  challenge: 'Frame the task as a challenge worth taking on.',
};

const STYLE: Record<string, string> = {
  brief_directive: 'Be brief and directive: short sentences and clear next actions.',
  detailed_explanatory: 'Be detailed and explanatory: give the reason behind each step.',
  conversational: 'Be conversational and friendly.',
  technical: 'Be precise and technical: use exact terms.',
};

const COMPLEXITY: Record<string, string> = {
  full_solution: 'Give the full solution.',
  break_into_steps: 'Break the work into numbered steps.',
  hints_only: 'Give hints rather than the full solution, so that the user works it out.',
  high_level: 'Stay high level: outline the approach, not the details.',
};

const ENCOURAGEMENT: Record<string, string> = {
  high: 'Encourage the user warmly.',
  moderate: 'Encourage the user now and then.',
  minimal: 'Keep encouragement to a minimum.',
  none: 'Do not add encouragement.',
};

function line(known: Record<string, string>, value: string, dimension: string): string {
  return '- ' + (Object.hasOwn(known, value) ? known[value] : `${dimension}: ${value}.`);
}

/**
 * Renders a context as a fragment of a system prompt: one instruction per
 * adapted dimension, then AMP's rationale, headed by the requestId to
 * report the outcome with. A value this SDK does not know (from a newer
 * server) is passed through as "<dimension>: <value>." rather than dropped.
 *
 * ```ts
 * const ctx = await amp.getContext({ userId: 'user_123', task: 'write the release notes' });
 * const system = 'You are a helpful assistant.\n\n' + toSystemPrompt(ctx);
 * ```
 */
export function toSystemPrompt(context: MotivationContext): string {
  const lines = [
    `Adapt how you present this task to the user (AMP request ${context.requestId}):`,
    line(FRAMING, context.suggestedFraming, 'Framing'),
    line(STYLE, context.communicationStyle, 'Communication style'),
    line(COMPLEXITY, context.complexity, 'Complexity'),
    line(ENCOURAGEMENT, context.encouragement, 'Encouragement'),
  ];
  const why = (context.rationale ?? '').trim();
  if (why !== '') lines.push(`Why: ${why}`);
  return lines.join('\n');
}
