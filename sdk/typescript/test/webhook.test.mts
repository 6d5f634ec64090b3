// Unit tests of webhook signature verification, against signatures made
// as the server makes them (HMAC-SHA256 of "<t>.<body>").
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';

import { verifyWebhook, WebhookVerificationError } from '@amp-protocol/client';

const body = '{"id":"evt_1","type":"key.quarantined","created":"2026-03-14T12:00:00Z","accountId":"acct_1","mode":"live","data":{}}';
const t = 1_773_489_600; // 2026-03-14T12:00:00Z
const sign = (secret: string, ts: number, b: string) => createHmac('sha256', secret).update(`${ts}.${b}`).digest('hex');
const header = `t=${t},v1=${sign('whsec_new', t, body)},v1=${sign('whsec_old', t, body)}`;
const at = (seconds: number) => (t + seconds) * 1000;

function refused(fn: () => unknown, reason: string) {
  assert.throws(fn, (e: unknown) => e instanceof WebhookVerificationError && e.reason === reason);
}

describe('verifyWebhook', () => {
  test('accepts either secret during a roll, and returns the event', () => {
    for (const secret of ['whsec_new', 'whsec_old']) {
      const ev = verifyWebhook(body, header, secret, { now: at(240) });
      assert.equal(ev.id, 'evt_1');
      assert.equal(ev.type, 'key.quarantined');
    }
    assert.equal(verifyWebhook(new TextEncoder().encode(body), header, 'whsec_new', { now: at(0) }).id, 'evt_1');
  });
  test('refuses a wrong secret or an altered body', () => {
    refused(() => verifyWebhook(body, header, 'whsec_other', { now: at(0) }), 'signature');
    refused(() => verifyWebhook(body.replace('evt_1', 'evt_2'), header, 'whsec_new', { now: at(0) }), 'signature');
  });
  test('refuses timestamps outside the window', () => {
    refused(() => verifyWebhook(body, header, 'whsec_new', { now: at(301) }), 'timestamp');
    refused(() => verifyWebhook(body, header, 'whsec_new', { now: at(-301) }), 'timestamp');
    refused(() => verifyWebhook(body, header, 'whsec_new', { now: at(61), toleranceSeconds: 60 }), 'timestamp');
  });
  test('refuses a moved timestamp and malformed headers', () => {
    refused(() => verifyWebhook(body, `t=${t + 1},v1=${sign('whsec_new', t, body)}`, 'whsec_new', { now: at(0) }), 'signature');
    for (const h of ['', 'nonsense', `t=${t}`, `v1=${sign('whsec_new', t, body)}`, 't=abc,v1=00']) {
      refused(() => verifyWebhook(body, h, 'whsec_new', { now: at(0) }), 'header');
    }
    refused(() => verifyWebhook(body, null, 'whsec_new', { now: at(0) }), 'header');
  });
});

// The vector of internal/webhook's TestSignatureVector, signed by the server.
test('agrees with the server on a fixed vector', () => {
  const vbody = '{"id":"evt_vector","type":"webhook.test","created":"2026-03-14T12:00:00Z","accountId":"acct_vector","mode":"test","data":{"endpointId":"we_vector","message":"hello"}}';
  const vheader = 't=1773489600,v1=5e185148119a33984c9546a38235aca84e0ae5b1a3becf474c11124b585555c9';
  const ev = verifyWebhook(vbody, vheader, 'whsec_test_vector', { now: 1_773_489_600_000 });
  assert.equal(ev.id, 'evt_vector');
  refused(() => verifyWebhook(vbody, vheader, 'whsec_test_vectoR', { now: 1_773_489_600_000 }), 'signature');
});
