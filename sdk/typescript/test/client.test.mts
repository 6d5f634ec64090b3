// Unit tests of the client against a local fake server: constructor forms,
// request shapes, error decoding, retries and timeouts.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  AMP,
  AMPError,
  DEFAULT_BASE_URL,
  type AMPOptions,
  type MotivationContext,
  type MotivationProfile,
} from '@amp-protocol/client';

import {
  FakeServer,
  hang,
  sampleContext,
  sampleProfile,
  sendError,
  sendJSON,
  sequence,
  type Handler,
} from './fake-server.mjs';

// Fake: built from parts so that secret scanners do not take it for a key.
const KEY = 'amp_sk_test_' + 'unit'.repeat(6) + '0000AA';

let server: FakeServer;
before(async () => {
  server = await FakeServer.start();
});
after(async () => {
  await server.close();
});

/** A client on the fake server whose retry waits are recorded, not slept. */
function client(options: AMPOptions = {}): { amp: AMP; slept: number[] } {
  const slept: number[] = [];
  const amp = new AMP({
    apiKey: KEY,
    baseUrl: server.baseUrl,
    sleep: async (ms) => {
      slept.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { amp, slept };
}

async function rejects(p: Promise<unknown>): Promise<AMPError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AMPError, `expected AMPError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to reject');
}

const ok: Handler = (_req, res) => sendJSON(res, 200, sampleContext());

/** Runs fn with the given environment variables set (undefined deletes). */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const NO_ENV = { AMP_API_KEY: undefined, AMP_KEY: undefined, AMP_BASE_URL: undefined };

describe('constructor', () => {
  beforeEach(() => server.reset(ok));

  test('a plain key string authenticates as a Bearer token', async () => {
    const amp = withEnv({ ...NO_ENV, AMP_BASE_URL: server.baseUrl }, () => new AMP('amp_sk_test_string_form'));
    await amp.getContext({ userId: 'u', task: 't' });
    assert.equal(server.requests[0]!.headers.authorization, 'Bearer amp_sk_test_string_form');
  });

  test('the options object takes apiKey, baseUrl, timeout and maxRetries', () => {
    const amp = withEnv(NO_ENV, () => new AMP({ apiKey: 'k', baseUrl: 'http://x.test/v1/', timeout: 1234, maxRetries: 5 }));
    assert.equal(amp.baseUrl, 'http://x.test/v1');
    assert.equal(amp.timeout, 1234);
    assert.equal(amp.maxRetries, 5);
  });

  test('defaults: the hosted base URL, 10 s timeout, 2 retries', () => {
    const amp = withEnv(NO_ENV, () => new AMP('k'));
    assert.equal(amp.baseUrl, DEFAULT_BASE_URL);
    assert.equal(DEFAULT_BASE_URL, 'https://api.amp-protocol.dev/v1');
    assert.equal(amp.timeout, 10_000);
    assert.equal(amp.maxRetries, 2);
  });

  test('the key comes from AMP_API_KEY, then AMP_KEY, when none is given', async () => {
    const env = { AMP_BASE_URL: server.baseUrl };
    const cases: Array<[Record<string, string | undefined>, () => AMP, string]> = [
      [{ AMP_API_KEY: 'from_api_key', AMP_KEY: 'from_key' }, () => new AMP(), 'from_api_key'],
      [{ AMP_API_KEY: undefined, AMP_KEY: 'from_key' }, () => new AMP(), 'from_key'],
      [{ AMP_API_KEY: '', AMP_KEY: 'from_key' }, () => new AMP({}), 'from_key'],
      [{ AMP_API_KEY: 'from_api_key' }, () => new AMP({ apiKey: undefined }), 'from_api_key'],
      [{ AMP_API_KEY: undefined, AMP_KEY: 'from_key' }, () => new AMP(process.env.AMP_API_KEY), 'from_key'],
      [{ AMP_API_KEY: 'from_api_key' }, () => new AMP({ apiKey: 'explicit' }), 'explicit'],
    ];
    for (const [vars, make, want] of cases) {
      server.requests.length = 0;
      const amp = withEnv({ ...env, ...vars }, make);
      await amp.getContext({ userId: 'u', task: 't' });
      assert.equal(server.requests[0]!.headers.authorization, `Bearer ${want}`, JSON.stringify(vars));
    }
  });

  test('the base URL comes from AMP_BASE_URL unless given', () => {
    withEnv({ AMP_BASE_URL: 'http://env.test/v1' }, () => {
      assert.equal(new AMP('k').baseUrl, 'http://env.test/v1');
      assert.equal(new AMP({ apiKey: 'k', baseUrl: 'http://arg.test/v1' }).baseUrl, 'http://arg.test/v1');
    });
  });

  test('no key anywhere is a MISSING_API_KEY AMPError', () => {
    withEnv(NO_ENV, () => {
      for (const make of [() => new AMP(), () => new AMP({}), () => new AMP(''), () => new AMP(undefined)]) {
        assert.throws(make, (err: unknown) => err instanceof AMPError && err.code === 'MISSING_API_KEY' && err.status === null);
      }
    });
  });

  test('nonsensical options are refused', () => {
    assert.throws(() => new AMP({ apiKey: 'k', timeout: 0 }), RangeError);
    assert.throws(() => new AMP({ apiKey: 'k', maxRetries: -1 }), RangeError);
    assert.throws(() => new AMP({ apiKey: 'k', maxRetries: 1.5 }), RangeError);
  });
});

describe('request shapes', () => {
  test('getContext POSTs the camelCase params to /context and returns the context', async () => {
    server.reset(ok);
    const { amp } = client();
    const ctx: MotivationContext = await amp.getContext({
      userId: 'user_123',
      task: 'build a login page',
      complexity: 'medium',
      taskType: 'coding',
      metadata: { source: 'chat', timestamp: 1705314600000 },
    });
    const req = server.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1/context');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers.accept, 'application/json');
    assert.match(req.headers['user-agent'] ?? '', /^amp-protocol-client-typescript\//);
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(req.body, {
      userId: 'user_123',
      task: 'build a login page',
      complexity: 'medium',
      taskType: 'coding',
      metadata: { source: 'chat', timestamp: 1705314600000 },
    });
    assert.deepEqual(ctx, sampleContext());
  });

  test('optional params left undefined are not sent', async () => {
    server.reset(ok);
    const { amp } = client();
    await amp.getContext({ userId: 'u', task: 't', complexity: undefined, taskType: undefined });
    assert.equal(server.requests[0]!.raw, '{"userId":"u","task":"t"}');
  });

  test('reportOutcome POSTs to /outcome and resolves to undefined', async () => {
    server.reset((_req, res) => sendJSON(res, 200, { success: true, message: 'Outcome reported successfully' }));
    const { amp } = client();
    const params = {
      requestId: 'req_abc123',
      started: true,
      completed: false,
      timeToStart: 120,
      flowState: false,
      satisfaction: 0.4,
      metadata: { note: 'x' },
    };
    const result = await amp.reportOutcome(params);
    assert.equal(result, undefined);
    assert.equal(server.requests[0]!.method, 'POST');
    assert.equal(server.requests[0]!.url, '/v1/outcome');
    assert.deepEqual(server.requests[0]!.body, params);
  });

  test('updateProfile PUTs to /profile/{userId} with the id encoded in the path and not in the body', async () => {
    const userId = 'team/ü 1?#%&';
    server.reset((req, res) => sendJSON(res, 200, sampleProfile(userId, req.body as Record<string, unknown>)));
    const { amp } = client();
    const profile: MotivationProfile = await amp.updateProfile({
      userId,
      preferredFraming: 'learning',
      communicationStyle: 'technical',
      complexityPreference: 'hints_only',
      encouragementLevel: 'none',
      metadata: { imported: true, source: 'legacy_system' },
    });
    const req = server.requests[0]!;
    assert.equal(req.method, 'PUT');
    assert.equal(req.url, '/v1/profile/team%2F%C3%BC%201%3F%23%25%26');
    assert.deepEqual(req.body, {
      preferredFraming: 'learning',
      communicationStyle: 'technical',
      complexityPreference: 'hints_only',
      encouragementLevel: 'none',
      metadata: { imported: true, source: 'legacy_system' },
    });
    assert.equal(profile.userId, userId);
    assert.equal(profile.preferredFraming, 'learning');
  });

  test('updateProfile with only some fields sends only those', async () => {
    server.reset((_req, res) => sendJSON(res, 200, sampleProfile('u')));
    const { amp } = client();
    await amp.updateProfile({ userId: 'u', encouragementLevel: 'high' });
    assert.equal(server.requests[0]!.raw, '{"encouragementLevel":"high"}');
  });

  test('getProfile GETs /profile/{userId} without a body and parses the dates', async () => {
    server.reset((_req, res) => sendJSON(res, 200, sampleProfile('user_123')));
    const { amp } = client();
    const profile = await amp.getProfile('user_123');
    const req = server.requests[0]!;
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/v1/profile/user_123');
    assert.equal(req.raw, '');
    assert.equal(req.headers['content-type'], undefined);
    assert.ok(profile.createdAt instanceof Date);
    assert.equal(profile.createdAt.toISOString(), '2024-01-15T10:30:00.123Z');
    assert.equal(profile.lastUpdated.toISOString(), '2024-01-16T08:00:00.000Z');
    assert.deepEqual(profile.timeOfDayPatterns, [{ hourStart: 9, hourEnd: 11, completionRate: 1, interactionCount: 2 }]);
    assert.deepEqual(profile.taskTypeAffinities, { coding: 0.8 });
    assert.equal(profile.profilePhase, 'cold_start');
  });

  test('deleteProfile DELETEs /profile/{userId} and resolves to undefined', async () => {
    server.reset((_req, res) => sendJSON(res, 200, { success: true }));
    const { amp } = client();
    assert.equal(await amp.deleteProfile('a b'), undefined);
    assert.equal(server.requests[0]!.method, 'DELETE');
    assert.equal(server.requests[0]!.url, '/v1/profile/a%20b');
  });

  test('an empty userId on a profile method fails before any request', async () => {
    server.reset(ok);
    const { amp } = client();
    for (const call of [() => amp.getProfile(''), () => amp.deleteProfile(''), () => amp.updateProfile({ userId: '' })]) {
      const err = await rejects(call());
      assert.equal(err.code, 'INVALID_USER_ID');
      assert.equal(err.status, null);
    }
    assert.equal(server.requests.length, 0);
  });
});

describe('errors', () => {
  // Every row of the contract's status table (§2).
  const table: Array<[string, number]> = [
    ['INVALID_REQUEST', 400],
    ['INVALID_USER_ID', 400],
    ['INVALID_TASK', 400],
    ['INVALID_PREFERENCE', 400],
    ['UNAUTHORIZED', 401],
    ['KEY_EXPIRED', 401],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['INVALID_REQUEST_ID', 404],
    ['METHOD_NOT_ALLOWED', 405],
    ['OUTCOME_ALREADY_REPORTED', 409],
    ['REQUEST_EXPIRED', 410],
    ['PAYLOAD_TOO_LARGE', 413],
    ['RATE_LIMIT_EXCEEDED', 429],
    ['QUOTA_EXCEEDED', 429],
    ['INTERNAL_ERROR', 500],
    ['SERVICE_UNAVAILABLE', 503],
  ];
  for (const [code, status] of table) {
    test(`${status} ${code} decodes into AMPError`, async () => {
      const details = { limit: 10, window: '1s', retryAfter: 1, code };
      server.reset((_req, res) => sendError(res, status, code, `message of ${code}`, details));
      const { amp } = client({ maxRetries: 0 });
      const err = await rejects(amp.reportOutcome({ requestId: 'req_x', started: true }));
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.equal(err.message, `message of ${code}`);
      assert.deepEqual(err.details, details);
      assert.match(err.requestId ?? '', /^req_err\d+$/);
      assert.equal(err.name, 'AMPError');
      assert.ok(err instanceof Error);
      assert.equal(server.requests.length, 1);
    });
  }

  test('an envelope without details gives empty details; the header supplies a missing requestId', async () => {
    server.reset((_req, res) => sendJSON(res, 404, { error: { code: 'NOT_FOUND', message: 'gone' } }, { 'X-Request-Id': 'req_hdr' }));
    const err = await rejects(client().amp.getProfile('u'));
    assert.deepEqual(err.details, {});
    assert.equal(err.requestId, 'req_hdr');
  });

  test('a non-AMP error body (a proxy page) still becomes an AMPError', async () => {
    server.reset((_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    const err = await rejects(client({ maxRetries: 0 }).amp.getProfile('u'));
    assert.equal(err.code, 'HTTP_ERROR');
    assert.equal(err.status, 502);
    assert.match(err.message, /bad gateway/);
    assert.equal(err.requestId, null);
  });

  test('a 2xx body that is not JSON is INVALID_RESPONSE', async () => {
    server.reset((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('hello');
    });
    const err = await rejects(client().amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(err.code, 'INVALID_RESPONSE');
    assert.equal(err.status, 200);
  });
});

describe('retries', () => {
  const limited: Handler = (_req, res) =>
    sendError(res, 429, 'RATE_LIMIT_EXCEEDED', 'Too many requests.', { limit: 10, window: '1s', retryAfter: 2 }, { 'Retry-After': '2' });

  test('429 is retried after details.retryAfter, then succeeds', async () => {
    server.reset(sequence(limited, ok));
    const { amp, slept } = client();
    const ctx = await amp.getContext({ userId: 'u', task: 't' });
    assert.equal(ctx.requestId, 'req_abc123');
    assert.equal(server.requests.length, 2);
    assert.equal(slept.length, 1);
    // Never sooner than the server asked; jitter only adds (≤ 10 %).
    assert.ok(slept[0]! >= 2000 && slept[0]! <= 2200, `slept ${slept[0]}`);
  });

  test('fractional retryAfter in details is honoured in ms', async () => {
    server.reset(sequence((_q, res) => sendError(res, 429, 'RATE_LIMIT_EXCEEDED', 'slow down', { retryAfter: 0.25 }), ok));
    const { amp, slept } = client();
    await amp.getContext({ userId: 'u', task: 't' });
    assert.ok(slept[0]! >= 250 && slept[0]! <= 275, `slept ${slept[0]}`);
  });

  test('the Retry-After header is honoured when details has no retryAfter', async () => {
    server.reset(sequence((_q, res) => sendError(res, 429, 'RATE_LIMIT_EXCEEDED', 'slow', undefined, { 'Retry-After': '3' }), ok));
    const { amp, slept } = client();
    await amp.getContext({ userId: 'u', task: 't' });
    assert.ok(slept[0]! >= 3000 && slept[0]! <= 3300, `slept ${slept[0]}`);
  });

  test('a Retry-After HTTP date is read against the injected clock', async () => {
    const now = Date.parse('2024-01-15T10:30:00Z');
    server.reset(
      sequence((_q, res) => sendError(res, 503, 'SERVICE_UNAVAILABLE', 'down', undefined, { 'Retry-After': 'Mon, 15 Jan 2024 10:30:04 GMT' }), ok),
    );
    const { amp, slept } = client({ now: () => now });
    await amp.getContext({ userId: 'u', task: 't' });
    assert.ok(slept[0]! >= 4000 && slept[0]! <= 4400, `slept ${slept[0]}`);
  });

  test('503 is retried with its Retry-After, then succeeds', async () => {
    server.reset(sequence((_q, res) => sendError(res, 503, 'SERVICE_UNAVAILABLE', 'shutting down', undefined, { 'Retry-After': '1' }), ok));
    const { amp, slept } = client();
    await amp.getContext({ userId: 'u', task: 't' });
    assert.equal(server.requests.length, 2);
    assert.ok(slept[0]! >= 1000);
  });

  test('a 429 that persists fails after maxRetries + 1 attempts', async () => {
    server.reset(limited);
    const { amp, slept } = client();
    const err = await rejects(amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
    assert.equal(err.details.retryAfter, 2);
    assert.equal(server.requests.length, 3);
    assert.equal(slept.length, 2);
  });

  test('per-call maxRetries overrides the client default', async () => {
    server.reset(limited);
    const { amp } = client({ maxRetries: 5 });
    await rejects(amp.getContext({ userId: 'u', task: 't' }, { maxRetries: 1 }));
    assert.equal(server.requests.length, 2);
  });

  test('QUOTA_EXCEEDED is a 429 that no retry can fix: thrown at once', async () => {
    server.reset((_q, res) => sendError(res, 429, 'QUOTA_EXCEEDED', 'quota', { limit: 100000, period: 'month', resetsAt: '2024-02-01T00:00:00Z' }));
    const err = await rejects(client().amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(err.code, 'QUOTA_EXCEEDED');
    assert.equal(server.requests.length, 1);
  });

  test('a server wait longer than maxRetryAfter is not slept through', async () => {
    server.reset(sequence((_q, res) => sendError(res, 429, 'RATE_LIMIT_EXCEEDED', 'slow', { retryAfter: 120 }), ok));
    const { amp, slept } = client({ maxRetryAfter: 60_000 });
    const err = await rejects(amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
    assert.equal(server.requests.length, 1);
    assert.deepEqual(slept, []);
  });

  for (const [status, code] of [
    [400, 'INVALID_REQUEST'],
    [401, 'UNAUTHORIZED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [409, 'OUTCOME_ALREADY_REPORTED'],
    [410, 'REQUEST_EXPIRED'],
    [413, 'PAYLOAD_TOO_LARGE'],
    [501, 'NOT_IMPLEMENTED'],
  ] as const) {
    test(`${status} is never retried`, async () => {
      server.reset((_q, res) => sendError(res, status, code, 'no', { retryAfter: 0 }, { 'Retry-After': '0' }));
      const { amp, slept } = client({ maxRetries: 3 });
      const err = await rejects(amp.getContext({ userId: 'u', task: 't' }));
      assert.equal(err.status, status);
      assert.equal(server.requests.length, 1);
      assert.deepEqual(slept, []);
    });
  }

  test('500 is retried with exponential backoff and jitter', async () => {
    server.reset((_q, res) => sendError(res, 500, 'INTERNAL_ERROR', 'oops'));
    // random() = 0 gives the low end of each jitter window: half the ceiling.
    const { amp, slept } = client({ maxRetries: 3, retryBaseDelay: 100, retryMaxDelay: 10_000, random: () => 0 });
    await rejects(amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(server.requests.length, 4);
    assert.deepEqual(slept, [50, 100, 200]);
  });

  test('the backoff ceiling is capped by retryMaxDelay; jitter stays within it', async () => {
    server.reset((_q, res) => sendError(res, 502, 'BAD_GATEWAY', 'oops'));
    const low = client({ maxRetries: 3, retryBaseDelay: 100, retryMaxDelay: 150, random: () => 0 });
    await rejects(low.amp.getContext({ userId: 'u', task: 't' }));
    assert.deepEqual(low.slept, [50, 75, 75]);
    const high = client({ maxRetries: 3, retryBaseDelay: 100, retryMaxDelay: 150, random: () => 0.999999 });
    await rejects(high.amp.getContext({ userId: 'u', task: 't' }));
    for (const [i, ceiling] of [100, 150, 150].entries()) {
      assert.ok(high.slept[i]! <= ceiling && high.slept[i]! > ceiling * 0.99, `slept ${high.slept}`);
    }
  });

  test('a dropped connection is retried, and reported as CONNECTION_ERROR when retries run out', async () => {
    const drop: Handler = (_q, res) => res.socket?.destroy();
    server.reset(sequence(drop, ok));
    await client().amp.getContext({ userId: 'u', task: 't' });
    assert.equal(server.requests.length, 2);

    server.reset(drop);
    const err = await rejects(client({ maxRetries: 0 }).amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(err.code, 'CONNECTION_ERROR');
    assert.equal(err.status, null);
  });

  test('reportOutcome: a 409 after an attempt of unknown fate means the outcome was stored', async () => {
    server.reset(
      sequence(
        (_q, res) => sendError(res, 500, 'INTERNAL_ERROR', 'lost the answer'),
        (_q, res) => sendError(res, 409, 'OUTCOME_ALREADY_REPORTED', 'already'),
      ),
    );
    assert.equal(await client().amp.reportOutcome({ requestId: 'req_x', started: true }), undefined);
    assert.equal(server.requests.length, 2);
  });

  test('reportOutcome: a 409 after a 429 is a real duplicate', async () => {
    server.reset(sequence(limited, (_q, res) => sendError(res, 409, 'OUTCOME_ALREADY_REPORTED', 'already')));
    const err = await rejects(client().amp.reportOutcome({ requestId: 'req_x', started: true }));
    assert.equal(err.code, 'OUTCOME_ALREADY_REPORTED');
  });

  test('the default sleep really waits and then retries', async () => {
    server.reset(sequence((_q, res) => sendError(res, 429, 'RATE_LIMIT_EXCEEDED', 'slow', { retryAfter: 0.01 }), ok));
    const amp = new AMP({ apiKey: KEY, baseUrl: server.baseUrl });
    await amp.getContext({ userId: 'u', task: 't' });
    assert.equal(server.requests.length, 2);
  });
});

describe('timeouts and aborts', () => {
  // Attempts are counted at the client: on a loaded machine a 50 ms timer
  // can fire before the server has even read the request.
  function counting(): { fetch: AMPOptions['fetch']; attempts: () => number } {
    let n = 0;
    return {
      fetch: (input, init) => {
        n++;
        return globalThis.fetch(input, init);
      },
      attempts: () => n,
    };
  }

  test('a server that never answers times out with TIMEOUT', async () => {
    server.reset(hang);
    const c = counting();
    const err = await rejects(client({ timeout: 50, maxRetries: 0, fetch: c.fetch }).amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(err.code, 'TIMEOUT');
    assert.equal(err.status, null);
    assert.equal(c.attempts(), 1);
  });

  test('a timed-out attempt is retried', async () => {
    // The server hangs until the client has started its retry wait.
    let retrying = false;
    server.reset((req, res) => (retrying ? ok(req, res) : hang(req, res)));
    const c = counting();
    const slept: number[] = [];
    const amp = new AMP({
      apiKey: KEY,
      baseUrl: server.baseUrl,
      // Long enough for the second attempt's real round trip on a busy machine.
      timeout: 1000,
      maxRetries: 1,
      fetch: c.fetch,
      sleep: async (ms) => {
        slept.push(ms);
        retrying = true;
      },
    });
    const ctx = await amp.getContext({ userId: 'u', task: 't' });
    assert.equal(ctx.requestId, 'req_abc123');
    assert.equal(c.attempts(), 2);
    assert.equal(slept.length, 1);
  });

  test('a body that stalls midway times out too', async () => {
    server.reset((_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"requestId": "req_');
    });
    const err = await rejects(client({ timeout: 50, maxRetries: 0 }).amp.getContext({ userId: 'u', task: 't' }));
    assert.equal(err.code, 'TIMEOUT');
  });

  test('the per-call timeout overrides the client default', async () => {
    server.reset(hang);
    const { amp } = client({ timeout: 60_000, maxRetries: 0 });
    const err = await rejects(amp.getProfile('u', { timeout: 30 }));
    assert.equal(err.code, 'TIMEOUT');
  });

  test('the caller’s signal aborts a pending request with ABORTED', async () => {
    server.reset(hang);
    const controller = new AbortController();
    const { amp } = client({ timeout: 60_000 });
    const pending = amp.getContext({ userId: 'u', task: 't' }, { signal: controller.signal });
    while (server.requests.length === 0) await new Promise((r) => setImmediate(r));
    controller.abort();
    const err = await rejects(pending);
    assert.equal(err.code, 'ABORTED');
    assert.equal(server.requests.length, 1);
  });

  test('the caller’s signal aborts a retry wait', async () => {
    server.reset((_q, res) => sendError(res, 429, 'RATE_LIMIT_EXCEEDED', 'slow', { retryAfter: 30 }));
    const controller = new AbortController();
    let sleeping!: () => void;
    const asleep = new Promise<void>((resolve) => (sleeping = resolve));
    const amp = new AMP({
      apiKey: KEY,
      baseUrl: server.baseUrl,
      // Blocks like a 30 s timer would, until the signal fires.
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          sleeping();
        }),
    });
    const pending = amp.getContext({ userId: 'u', task: 't' }, { signal: controller.signal });
    await asleep;
    controller.abort();
    const err = await rejects(pending);
    assert.equal(err.code, 'ABORTED');
    assert.equal(server.requests.length, 1);
  });

  test('an already aborted signal sends nothing', async () => {
    server.reset(ok);
    const err = await rejects(client().amp.getContext({ userId: 'u', task: 't' }, { signal: AbortSignal.abort() }));
    assert.equal(err.code, 'ABORTED');
    assert.equal(server.requests.length, 0);
  });
});
