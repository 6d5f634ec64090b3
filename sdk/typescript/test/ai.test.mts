// The Vercel AI SDK middleware against a real `amp serve` (AMP_BIN), with
// the AI SDK's own mock model (ai/test): no network beyond the loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { generateText, streamText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { AMP, AMPError, toSystemPrompt } from '@amp-protocol/client';
import { ampMiddleware } from '@amp-protocol/client/ai';

import { RealServer, skipReason } from './real-server.mjs';

function mockModel(): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doGenerate: async () => ({
      content: [{ type: 'text', text: 'Here are the notes.' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: 4, text: 4, reasoning: 0 },
      },
      warnings: [],
    }),
    doStream: async () => ({
      stream: new ReadableStream({
        start(c) {
          c.enqueue({ type: 'text-start', id: '1' });
          c.enqueue({ type: 'text-delta', id: '1', delta: 'Streamed.' });
          c.enqueue({ type: 'text-end', id: '1' });
          c.enqueue({
            type: 'finish',
            finishReason: { unified: 'stop', raw: 'stop' },
            usage: {
              inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
              outputTokens: { total: 1, text: 1, reasoning: 0 },
            },
          });
          c.close();
        },
      }),
    }),
  });
}

const skip = skipReason();

describe('ampMiddleware against a real amp serve', { skip }, () => {
  let server: RealServer;
  let amp: AMP;

  before(async () => {
    server = await RealServer.start(process.env.AMP_BIN!);
    const account = await server.createAccount('sdk-ai', 'pro');
    amp = new AMP({ apiKey: await server.createKey(account), baseUrl: server.baseUrl, maxRetries: 0 });
  });
  after(async () => {
    await server?.stop();
  });

  test('adds the context to the system prompt, once per session, and reports the outcome', async () => {
    const seen: string[] = [];
    const session = ampMiddleware({
      client: amp,
      userId: 'ai_user',
      task: 'write the release notes',
      taskType: 'writing',
      onContext: (c) => seen.push(c.requestId),
    });
    assert.equal(session.requestId, undefined);
    const mock = mockModel();
    const model = wrapLanguageModel({ model: mock, middleware: session.middleware });

    const { text } = await generateText({ model, system: 'You are a release manager.', prompt: 'Draft the notes for v2.1.' });
    assert.equal(text, 'Here are the notes.');
    assert.match(session.requestId ?? '', /^req_/);
    const first = mock.doGenerateCalls[0]!.prompt;
    assert.equal(first.length, 2);
    assert.deepEqual(first[0], {
      role: 'system',
      content: `You are a release manager.\n\n${toSystemPrompt(session.context!)}`,
    });
    assert.ok(String(first[0]!.content).includes(`(AMP request ${session.requestId})`));

    // A second call of the same session (a streamed one, with no system
    // prompt of its own) reuses the context.
    const result = streamText({ model, prompt: 'Shorter, please.' });
    assert.equal(await result.text, 'Streamed.');
    const second = mock.doStreamCalls[0]!.prompt;
    assert.deepEqual(second[0], { role: 'system', content: toSystemPrompt(session.context!) });
    assert.deepEqual(seen, [session.requestId]);

    await session.reportOutcome({ started: true, completed: true, satisfaction: 0.9 });
    const profile = await amp.getProfile('ai_user');
    assert.equal(profile.totalInteractions, 1);
    await assert.rejects(session.reportOutcome({ started: true }), (err: unknown) => {
      assert.ok(err instanceof AMPError);
      assert.equal(err.code, 'OUTCOME_ALREADY_REPORTED');
      return true;
    });
  });

  test('a refused context fails the model call, and the model is not called', async () => {
    const bad = new AMP({ apiKey: 'amp_sk_test_' + '0'.repeat(30), baseUrl: server.baseUrl, maxRetries: 0 });
    const session = ampMiddleware({ client: bad, userId: 'ai_user', task: 't' });
    const mock = mockModel();
    const model = wrapLanguageModel({ model: mock, middleware: session.middleware });
    await assert.rejects(generateText({ model, prompt: 'hi', maxRetries: 0 }), (err: unknown) => {
      assert.ok(err instanceof AMPError, `got ${String(err)}`);
      assert.equal(err.code, 'UNAUTHORIZED');
      return true;
    });
    assert.equal(mock.doGenerateCalls.length, 0);
    await assert.rejects(session.reportOutcome({ started: false }), /no context yet/);
  });
});
