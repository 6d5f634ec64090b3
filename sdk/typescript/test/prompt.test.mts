// toSystemPrompt's wording, pinned: the Go client's ToSystemPrompt and the
// Python SDK's to_system_prompt are tested against the same text.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toSystemPrompt, type MotivationContext } from '@amp-protocol/client';

const base: MotivationContext = {
  requestId: 'req_123',
  suggestedFraming: 'micro_task',
  communicationStyle: 'brief_directive',
  complexity: 'break_into_steps',
  encouragement: 'moderate',
  confidence: 0.4,
  rationale: 'Similar users finish more often with small steps.',
  metadata: { profilePhase: 'cold_start', interactionCount: 0, explorationMode: true },
};

test('toSystemPrompt renders the documented wording', () => {
  assert.equal(
    toSystemPrompt(base),
    `Adapt how you present this task to the user (AMP request req_123):
- Frame the task as a series of small, quick steps, and start with the first one.
- Be brief and directive: short sentences and clear next actions.
- Break the work into numbered steps.
- Encourage the user now and then.
Why: Similar users finish more often with small steps.`,
  );
});

test('toSystemPrompt passes unknown values through and drops a blank rationale', () => {
  const ctx = { ...base, suggestedFraming: 'storytelling', rationale: ' ' } as unknown as MotivationContext;
  assert.equal(
    toSystemPrompt(ctx),
    `Adapt how you present this task to the user (AMP request req_123):
- Framing: storytelling.
- Be brief and directive: short sentences and clear next actions.
- Break the work into numbered steps.
- Encourage the user now and then.`,
  );
});

test('toSystemPrompt has a sentence for every documented value', () => {
  const ctx: MotivationContext = {
    ...base,
    suggestedFraming: 'challenge',
    communicationStyle: 'technical',
    complexity: 'high_level',
    encouragement: 'none',
  };
  const lines = toSystemPrompt(ctx).split('\n');
  assert.deepEqual(lines.slice(1, 5), [
    '- Frame the task as a challenge worth taking on.',
    '- Be precise and technical: use exact terms.',
    '- Stay high level: outline the approach, not the details.',
    '- Do not add encouragement.',
  ]);
});
