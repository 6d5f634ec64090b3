// The client against the real server: `amp serve` from AMP_BIN on a free
// port with a fresh data directory, keys and accounts from `amp keys create`
// and `amp accounts create`. Skipped, with the reason, when AMP_BIN is unset.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import {
  AMP,
  AMPError,
  COMMUNICATION_STYLES,
  COMPLEXITY_LEVELS,
  ENCOURAGEMENT_LEVELS,
  FRAMING_TYPES,
  PROFILE_PHASES,
  type AMPOptions,
  type FramingType,
} from '@amp-protocol/client';

import { Consumer } from './consumer.mjs';
import { RealServer, skipReason } from './real-server.mjs';

async function rejects(p: Promise<unknown>): Promise<AMPError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AMPError, `expected AMPError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to reject');
}

function assertError(err: AMPError, code: string, status: number): void {
  assert.equal(err.code, code, `${err.code}: ${err.message}`);
  assert.equal(err.status, status);
  assert.match(err.requestId ?? '', /^req_/);
  assert.ok(err.message.length > 0);
}

const skip = skipReason();

describe('against a real amp serve', { skip }, () => {
  let server: RealServer;
  let account: string;
  let key: string;
  let amp: AMP;
  const client = (options: AMPOptions = {}): AMP => new AMP({ apiKey: key, baseUrl: server.baseUrl, ...options });

  before(async () => {
    server = await RealServer.start(process.env.AMP_BIN!);
    // A pro account (100 req/s) so that the functional tests are not
    // rate-limited; the rate-limit tests use a starter account of their own.
    account = await server.createAccount('sdk-typescript', 'pro');
    key = await server.createKey(account, '--name', 'sdk-tests');
    assert.match(key, /^amp_sk_test_[0-9A-Za-z]{30}$/);
    amp = client();
  });
  after(async () => {
    await server?.stop();
  });

  describe('methods', () => {
    test('getContext returns a typed context for a new user in cold start', async () => {
      const ctx = await amp.getContext({
        userId: 'ts_new_user',
        task: 'fix the flaky login test',
        complexity: 'high',
        taskType: 'debugging',
        metadata: { source: 'chat', timestamp: 1705314600000 },
      });
      assert.match(ctx.requestId, /^req_/);
      assert.ok(FRAMING_TYPES.includes(ctx.suggestedFraming));
      assert.ok(COMMUNICATION_STYLES.includes(ctx.communicationStyle));
      assert.ok(COMPLEXITY_LEVELS.includes(ctx.complexity));
      assert.ok(ENCOURAGEMENT_LEVELS.includes(ctx.encouragement));
      assert.ok(ctx.confidence >= 0 && ctx.confidence <= 1);
      assert.ok(ctx.rationale.length > 0);
      assert.equal(ctx.metadata.profilePhase, 'cold_start');
      assert.equal(ctx.metadata.interactionCount, 0);
      assert.equal(typeof ctx.metadata.explorationMode, 'boolean');
    });

    test('reportOutcome resolves to undefined and counts toward the profile', async () => {
      const ctx = await amp.getContext({ userId: 'ts_outcome_user', task: 'write the changelog', taskType: 'writing' });
      const result = await amp.reportOutcome({
        requestId: ctx.requestId,
        started: true,
        completed: true,
        timeToStart: 15,
        flowState: true,
        satisfaction: 0.95,
        metadata: { note: 'sdk test' },
      });
      assert.equal(result, undefined);
      const profile = await amp.getProfile('ts_outcome_user');
      assert.equal(profile.userId, 'ts_outcome_user');
      assert.equal(profile.totalInteractions, 1);
      assert.equal(profile.completionRate, 1);
      assert.equal(profile.profilePhase, 'cold_start');
      assert.ok(profile.createdAt instanceof Date && !Number.isNaN(profile.createdAt.getTime()));
      assert.ok(profile.lastUpdated instanceof Date && !Number.isNaN(profile.lastUpdated.getTime()));
      assert.equal(profile.profileVersion, '2.1');
      assert.ok(PROFILE_PHASES.includes(profile.profilePhase));
      assert.ok(Array.isArray(profile.timeOfDayPatterns));
      assert.equal(typeof profile.taskTypeAffinities, 'object');
    });

    test('updateProfile changes only the given fields and returns the full profile', async () => {
      const userId = 'ts_update_user';
      const first = await amp.updateProfile({
        userId,
        preferredFraming: 'challenge',
        communicationStyle: 'technical',
        complexityPreference: 'hints_only',
        encouragementLevel: 'none',
        metadata: { imported: true, source: 'legacy_system' },
      });
      assert.equal(first.userId, userId);
      assert.equal(first.preferredFraming, 'challenge');
      assert.equal(first.encouragementLevel, 'none');
      const second = await amp.updateProfile({ userId, encouragementLevel: 'high' });
      assert.equal(second.preferredFraming, 'challenge');
      assert.equal(second.communicationStyle, 'technical');
      assert.equal(second.complexityPreference, 'hints_only');
      assert.equal(second.encouragementLevel, 'high');
      const read = await amp.getProfile(userId);
      assert.equal(read.encouragementLevel, 'high');
      assert.deepEqual(read.metadata, { imported: true, source: 'legacy_system' });
    });

    test('a userId with reserved and non-ASCII characters round-trips through the path', async () => {
      const userId = 'team/ü 1?x=#y%25&z';
      const put = await amp.updateProfile({ userId, preferredFraming: 'learning' });
      assert.equal(put.userId, userId);
      const got = await amp.getProfile(userId);
      assert.equal(got.userId, userId);
      assert.equal(got.preferredFraming, 'learning');
      await amp.deleteProfile(userId);
      assertError(await rejects(amp.getProfile(userId)), 'NOT_FOUND', 404);
    });

    test('deleteProfile resolves to undefined and the profile is gone', async () => {
      const userId = 'ts_delete_user';
      const ctx = await amp.getContext({ userId, task: 'a task' });
      await amp.reportOutcome({ requestId: ctx.requestId, started: false });
      assert.equal(await amp.deleteProfile(userId), undefined);
      assertError(await rejects(amp.getProfile(userId)), 'NOT_FOUND', 404);
      assertError(await rejects(amp.deleteProfile(userId)), 'NOT_FOUND', 404);
    });
  });

  describe('errors', () => {
    test('401 UNAUTHORIZED for a key the server does not know', async () => {
      const bad = client({ apiKey: 'amp_sk_test_' + '0'.repeat(30) });
      assertError(await rejects(bad.getContext({ userId: 'u', task: 't' })), 'UNAUTHORIZED', 401);
    });

    test('401 KEY_EXPIRED for a key past its expiry', async () => {
      const shortLived = await server.createKey(account, '--expires-in', '1s');
      await delay(1500);
      const expired = client({ apiKey: shortLived });
      assertError(await rejects(expired.getContext({ userId: 'u', task: 't' })), 'KEY_EXPIRED', 401);
    });

    test('403 FORBIDDEN for a key without the route’s scope', async () => {
      const contextOnly = client({ apiKey: await server.createKey(account, '--scopes', 'context') });
      const ctx = await contextOnly.getContext({ userId: 'ts_scoped', task: 'allowed' });
      assert.match(ctx.requestId, /^req_/);
      assertError(await rejects(contextOnly.getProfile('ts_scoped')), 'FORBIDDEN', 403);
      assertError(await rejects(contextOnly.reportOutcome({ requestId: ctx.requestId, started: true })), 'FORBIDDEN', 403);
    });

    test('404 NOT_FOUND for an unknown profile, INVALID_REQUEST_ID for an unknown requestId', async () => {
      assertError(await rejects(amp.getProfile('ts_nobody')), 'NOT_FOUND', 404);
      assertError(await rejects(amp.reportOutcome({ requestId: 'req_doesnotexist', started: true })), 'INVALID_REQUEST_ID', 404);
    });

    test('409 OUTCOME_ALREADY_REPORTED for a second outcome; the first is kept', async () => {
      const ctx = await amp.getContext({ userId: 'ts_twice', task: 'a task' });
      await amp.reportOutcome({ requestId: ctx.requestId, started: true, completed: true });
      const err = await rejects(amp.reportOutcome({ requestId: ctx.requestId, started: false }));
      assertError(err, 'OUTCOME_ALREADY_REPORTED', 409);
      const profile = await amp.getProfile('ts_twice');
      assert.equal(profile.totalInteractions, 1);
      assert.equal(profile.completionRate, 1);
    });

    test('410 REQUEST_EXPIRED for a requestId older than 24 hours', async (t) => {
      // amp serve has no test clock, so the decision is aged in its SQLite
      // file; Node 20 has no SQLite module, so python3's does it (WAL mode
      // lets a second connection write beside the server).
      const ctx = await amp.getContext({ userId: 'ts_expired', task: 'a task' });
      const age = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
with db:
    n = db.execute("UPDATE decisions SET created_at = created_at - ? WHERE request_id = ?", (25 * 3600 * 1000000, sys.argv[2])).rowcount
print(n)`;
      let changed: string;
      try {
        changed = execFileSync('python3', ['-c', age, join(server.dataDir, 'amp.db'), ctx.requestId], { encoding: 'utf8' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          t.skip('python3 not found: cannot age a decision in the SQLite file');
          return;
        }
        throw err;
      }
      assert.equal(changed.trim(), '1');
      assertError(await rejects(amp.reportOutcome({ requestId: ctx.requestId, started: true })), 'REQUEST_EXPIRED', 410);
    });

    test('400s: INVALID_USER_ID, INVALID_TASK, INVALID_PREFERENCE, INVALID_REQUEST', async () => {
      assertError(await rejects(amp.getContext({ userId: '', task: 't' })), 'INVALID_USER_ID', 400);
      assertError(await rejects(amp.getContext({ userId: 'u', task: '' })), 'INVALID_TASK', 400);
      const bogus = 'heroic' as FramingType;
      assertError(await rejects(amp.updateProfile({ userId: 'u', preferredFraming: bogus })), 'INVALID_PREFERENCE', 400);
      const ctx = await amp.getContext({ userId: 'ts_bad_outcome', task: 't' });
      assertError(
        await rejects(amp.reportOutcome({ requestId: ctx.requestId, started: true, satisfaction: 2 })),
        'INVALID_REQUEST',
        400,
      );
    });
  });

  describe('rate limits', () => {
    let limitedKey: string;
    before(async () => {
      // Starter: 10 requests/second with a burst of 10, per account and mode.
      const starter = await server.createAccount('sdk-typescript-starter', 'starter');
      limitedKey = await server.createKey(starter, '--name', 'burst');
    });

    test('a burst past the limit is retried after the server’s retryAfter and all calls succeed', async () => {
      const statuses: number[] = [];
      const serverWaits: number[] = [];
      const slept: number[] = [];
      const retryAfterHeaders: Array<string | null> = [];
      const limited = new AMP({
        apiKey: limitedKey,
        baseUrl: server.baseUrl,
        maxRetries: 8,
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          statuses.push(res.status);
          if (res.status === 429) {
            const body = (await res.clone().json()) as { error: { details: { retryAfter: number } } };
            serverWaits.push(body.error.details.retryAfter * 1000);
            retryAfterHeaders.push(res.headers.get('retry-after'));
          }
          return res;
        },
        sleep: async (ms) => {
          slept.push(ms);
          await delay(ms);
        },
      });
      const n = 25;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => limited.getContext({ userId: `ts_burst_${i}`, task: 'burst' })),
      );
      assert.equal(results.length, n);
      for (const ctx of results) assert.match(ctx.requestId, /^req_/);
      assert.ok(statuses.includes(429), `no 429 in ${statuses}`);
      for (const h of retryAfterHeaders) assert.match(h ?? '', /^\d+$/, 'Retry-After is whole seconds');
      assert.equal(statuses.filter((s) => s === 200).length, n);
      // Every wait honoured what the server asked for.
      assert.equal(slept.length, serverWaits.length);
      const minWait = Math.min(...serverWaits);
      assert.ok(minWait > 0);
      for (const ms of slept) assert.ok(ms >= minWait, `slept ${ms} < server's ${minWait}`);
    });

    test('with retries off, the 429 surfaces as RATE_LIMIT_EXCEEDED with its details', async () => {
      const noRetry = new AMP({ apiKey: limitedKey, baseUrl: server.baseUrl, maxRetries: 0 });
      const settled = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => noRetry.getContext({ userId: `ts_burst_${i}`, task: 'burst' })),
      );
      const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      assert.ok(failures.length > 0, 'no request was limited');
      for (const f of failures) {
        const err = f.reason as AMPError;
        assertError(err, 'RATE_LIMIT_EXCEEDED', 429);
        assert.equal(err.details.limit, 10);
        assert.equal(typeof err.details.window, 'string');
        assert.ok((err.details.retryAfter as number) > 0);
      }
    });
  });

  describe('timeouts', () => {
    test('a server that stops answering times out after each attempt, then works again', async () => {
      let attempts = 0;
      const impatient = client({
        timeout: 300,
        maxRetries: 1,
        retryBaseDelay: 10,
        fetch: (input, init) => {
          attempts++;
          return fetch(input, init);
        },
      });
      server.pause();
      try {
        assertTimeout(await rejects(impatient.getContext({ userId: 'ts_timeout', task: 't' })));
        assert.equal(attempts, 2);
      } finally {
        server.resume();
      }
      const ctx = await impatient.getContext({ userId: 'ts_timeout', task: 't' }, { timeout: 10_000 });
      assert.match(ctx.requestId, /^req_/);
    });
  });

  describe('docs snippets and example, as written', () => {
    let consumer: Consumer;
    before(() => {
      consumer = Consumer.open();
    });

    test('the authentication snippet and the docs examples run with only AMP_BASE_URL set to this server', async () => {
      const r = await consumer.run('docs.js', { AMP_API_KEY: key, AMP_BASE_URL: server.baseUrl });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.ok(FRAMING_TYPES.includes(lines[0] as FramingType), r.stdout);
      const profile = await amp.getProfile('user_123');
      assert.equal(profile.preferredFraming, 'achievement');
      assert.equal(profile.communicationStyle, 'brief_directive');
      assert.equal(profile.complexityPreference, 'break_into_steps');
      assert.equal(profile.encouragementLevel, 'minimal');
      assert.equal(profile.totalInteractions, 1);
      assert.equal(profile.flowStateFrequency, 1);
    });

    test('the landing page form runs with AMP_KEY', async () => {
      const r = await consumer.run('landing.js', { AMP_KEY: key, AMP_BASE_URL: server.baseUrl });
      assert.equal(r.code, 0, r.stderr);
    });

    test('a CommonJS consumer works', async () => {
      const r = await consumer.run('commonjs.cjs', { AMP_API_KEY: key, AMP_BASE_URL: server.baseUrl });
      assert.equal(r.code, 0, r.stderr);
      assert.match(JSON.parse(r.stdout).requestId, /^req_/);
    });

    test('the example agent reports its outcome', async () => {
      const r = await consumer.run('agent.js', { AMP_API_KEY: key, AMP_BASE_URL: server.baseUrl }, 'y\nn\ny\n6\n', [
        '--user',
        'ts_agent_user',
        '--type',
        'coding',
        'add a dark mode toggle',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Outcome reported for req_/);
      const profile = await amp.getProfile('ts_agent_user');
      assert.equal(profile.totalInteractions, 1);
      assert.equal(profile.completionRate, 0);
    });
  });
});

function assertTimeout(err: AMPError): void {
  assert.equal(err.code, 'TIMEOUT');
  assert.equal(err.status, null);
}
