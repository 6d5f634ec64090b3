// The docs' snippets and the example agent, compiled and run as an
// integrator would, against the local emulator of the AMP API. The same
// programs run against the real server in integration.test.mts.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { authPage, Consumer, snippet } from './consumer.mjs';
import { ampEmulator, FakeServer } from './fake-server.mjs';

// Fake: built from parts so that secret scanners do not take it for a key.
const KEY = 'amp_sk_test_' + 'snippet'.repeat(3) + '000AA';

let consumer: Consumer;
let server: FakeServer;
before(async () => {
  consumer = Consumer.open();
  server = await FakeServer.start();
});
after(async () => {
  await server.close();
});

describe('docs snippets', () => {
  test('the TypeScript snippet is copied verbatim from the authentication page', async (t) => {
    const page = await authPage();
    if (page === undefined) {
      t.skip('shared/reference/authentication.txt is not beside the repository');
      return;
    }
    assert.ok(page.includes((await snippet('authentication.ts')).trimEnd()), 'authentication.ts differs from the docs');
  });

  test('the authentication snippet and the getContext/reportOutcome/updateProfile examples run as written', async () => {
    server.reset(ampEmulator(KEY));
    const r = await consumer.run('docs.js', { AMP_API_KEY: KEY, AMP_BASE_URL: server.baseUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      server.requests.map((q) => `${q.method} ${q.url}`),
      ['POST /v1/context', 'POST /v1/outcome', 'PUT /v1/profile/user_123'],
    );
    const [ctxReq, outReq, putReq] = server.requests;
    assert.deepEqual(Object.keys(ctxReq!.body as object), ['userId', 'task', 'complexity', 'taskType', 'metadata']);
    assert.deepEqual(outReq!.body, {
      requestId: 'req_emu1',
      started: true,
      completed: true,
      timeToStart: 15,
      flowState: true,
      satisfaction: 0.95,
    });
    assert.deepEqual(putReq!.body, {
      preferredFraming: 'achievement',
      communicationStyle: 'brief_directive',
      complexityPreference: 'break_into_steps',
      encouragementLevel: 'minimal',
      metadata: { imported: true, source: 'legacy_system' },
    });
    assert.match(r.stdout, /^micro_task\nbrief_directive\nbreak_into_steps\n0\.87\nachievement\n/);
  });

  test('the landing page form new AMP(process.env.AMP_KEY) runs with AMP_KEY alone', async () => {
    server.reset(ampEmulator(KEY));
    const r = await consumer.run('landing.js', { AMP_KEY: KEY, AMP_BASE_URL: server.baseUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.headers.authorization, `Bearer ${KEY}`);
  });

  test('a CommonJS consumer loads the require() build', async () => {
    server.reset(ampEmulator(KEY));
    const r = await consumer.run('commonjs.cjs', { AMP_API_KEY: KEY, AMP_BASE_URL: server.baseUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { requestId: 'req_emu1', isAMPError: true });
  });

  test('a wrong key makes the docs program fail with UNAUTHORIZED', async () => {
    server.reset(ampEmulator(KEY));
    const r = await consumer.run('docs.js', { AMP_API_KEY: 'amp_sk_test_wrong', AMP_BASE_URL: server.baseUrl });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /AMPError/);
    assert.match(r.stderr, /UNAUTHORIZED/);
  });
});

describe('example agent', () => {
  test('turns the context into a system prompt and reports the outcome', async () => {
    server.reset(ampEmulator(KEY));
    const r = await consumer.run(
      'agent.js',
      { AMP_API_KEY: KEY, AMP_BASE_URL: server.baseUrl },
      'y\ny\nn\n8\n',
      ['--user', 'alice', '--type', 'writing', 'write the release notes'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Frame the task as a series of small, quick steps/);
    assert.match(r.stdout, /Be brief and directive/);
    assert.match(r.stdout, /Outcome reported for req_emu1\./);
    assert.deepEqual(server.requests[0]!.body, { userId: 'alice', task: 'write the release notes', taskType: 'writing' });
    const outcome = server.requests[1]!.body as Record<string, unknown>;
    assert.equal(outcome.requestId, 'req_emu1');
    assert.equal(outcome.started, true);
    assert.equal(outcome.completed, true);
    assert.equal(outcome.flowState, false);
    assert.equal(outcome.satisfaction, 0.8);
    assert.equal(typeof outcome.timeToStart, 'number');
  });

  test('carries on with a default context when AMP is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await consumer.run('agent.js', { AMP_API_KEY: KEY, AMP_BASE_URL: `http://127.0.0.1:${port}/v1` }, 'n\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /AMP unavailable \(CONNECTION_ERROR/);
    assert.match(r.stdout, /Frame the task as an achievement/);
    assert.doesNotMatch(r.stdout, /Outcome reported/);
  });
});
