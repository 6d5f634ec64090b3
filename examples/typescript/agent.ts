// A small agent built on AMP.
//
// 1. It asks AMP how to present the user's task to this user (getContext).
// 2. It turns that recommendation into a system prompt for its model.
// 3. It answers, then asks the user what they did with the answer.
// 4. It reports that outcome (reportOutcome), which is how AMP learns.
//
// The model is a stand-in that runs offline; replace `model` with a call to
// your LLM. If AMP is unreachable the agent carries on with a default
// context: the agent must never fail because AMP failed.
//
//   AMP_API_KEY=amp_sk_test_… AMP_BASE_URL=http://127.0.0.1:8080/v1 \
//     node dist/agent.js --user user_123 --type coding "build a login page"
import { createInterface } from 'node:readline';

import { AMP, AMPError, toSystemPrompt, type MotivationContext } from '@amp-protocol/client';

/** The context used when AMP cannot be reached: AMP's own population default framing. */
const FALLBACK: MotivationContext = {
  requestId: '',
  suggestedFraming: 'achievement',
  communicationStyle: 'conversational',
  complexity: 'break_into_steps',
  encouragement: 'moderate',
  confidence: 0,
  rationale: 'AMP unavailable: default context',
  metadata: { profilePhase: 'cold_start', interactionCount: 0, explorationMode: false },
};

/** Turns AMP's recommendation into instructions for the model, with the SDK's helper. */
export function systemPrompt(ctx: MotivationContext): string {
  return 'You are a helpful assistant.\n\n' + toSystemPrompt(ctx);
}

/** Stand-in for an LLM call: replace with your model client. */
async function model(system: string, task: string): Promise<string> {
  return `(a model following the system prompt above would now answer: "${task}")\n${system.split('\n').filter((l) => l.startsWith('- ')).length} instructions applied.`;
}

function parseArgs(argv: string[]): { userId: string; taskType: string | undefined; task: string } {
  let userId = 'user_123';
  let taskType: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--user') userId = argv[++i] ?? userId;
    else if (arg === '--type') taskType = argv[++i];
    else words.push(arg);
  }
  return { userId, taskType, task: words.join(' ') || 'build a login page' };
}

async function main(): Promise<void> {
  const { userId, taskType, task } = parseArgs(process.argv.slice(2));
  // Key and base URL from AMP_API_KEY (or AMP_KEY) and AMP_BASE_URL.
  const amp = new AMP();

  let ctx = FALLBACK;
  try {
    ctx = await amp.getContext({ userId, task, taskType });
  } catch (err) {
    if (!(err instanceof AMPError)) throw err;
    console.warn(`warning: AMP unavailable (${err.code}: ${err.message}); using a default context`);
  }

  const system = systemPrompt(ctx);
  console.log(`--- system prompt (${ctx.metadata.profilePhase}, confidence ${ctx.confidence.toFixed(2)}) ---`);
  console.log(system);
  console.log(`--- why: ${ctx.rationale}`);
  console.log('--- answer ---');
  console.log(await model(system, task));
  const answeredAt = Date.now();

  // Lines are read through one iterator so that piped answers are not lost.
  const rl = createInterface({ input: process.stdin });
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (question: string): Promise<string> => {
    process.stdout.write(`${question} `);
    const next = await lines.next();
    return next.done ? '' : String(next.value).trim().toLowerCase();
  };

  const started = (await ask('Did you start the task? [y/n]')).startsWith('y');
  const timeToStart = (Date.now() - answeredAt) / 1000;
  let completed = false;
  let flowState = false;
  let satisfaction: number | undefined;
  if (started) {
    completed = (await ask('Did you finish it? [y/n]')).startsWith('y');
    flowState = (await ask('Were you in the flow? [y/n]')).startsWith('y');
    const score = Number(await ask('How satisfied were you, 0-10?'));
    if (Number.isFinite(score) && score >= 0 && score <= 10) satisfaction = score / 10;
  }
  rl.close();

  if (ctx.requestId === '') return; // nothing to report against the fallback
  try {
    await amp.reportOutcome({
      requestId: ctx.requestId,
      started,
      completed,
      timeToStart: started ? timeToStart : undefined,
      flowState,
      satisfaction,
    });
    console.log(`\nOutcome reported for ${ctx.requestId}.`);
  } catch (err) {
    if (!(err instanceof AMPError)) throw err;
    console.warn(`warning: outcome not reported (${err.code}: ${err.message})`);
  }
}

await main();
