// Verification of AMP webhook deliveries: the AMP-Signature header is
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">", with one v1
// per valid secret while a rolled secret's grace period lasts.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header of a delivery that carries its signatures. */
export const SIGNATURE_HEADER = 'AMP-Signature';

/** How far, in seconds, a delivery's timestamp may be from the receiver's clock (5 minutes). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** Every event type, and the test event. */
export type WebhookEventType =
  | 'key.leak_suspected'
  | 'key.quarantined'
  | 'key.expiring'
  | 'key.rotation_due'
  | 'quota.threshold'
  | 'rate_limit.sustained'
  | 'profile.deleted'
  | 'webhook.test';

/** The body of every delivery; `data`'s shape depends on `type` (docs/webhooks.md). */
export interface WebhookEvent {
  /** The same on every delivery and retry of the event: deduplicate by it. */
  id: string;
  type: WebhookEventType;
  created: string;
  accountId: string;
  mode: 'test' | 'live';
  data: Record<string, unknown>;
}

/** Why a delivery was refused. */
export type WebhookErrorReason = 'header' | 'timestamp' | 'signature' | 'body';

/** Thrown by verifyWebhook for a delivery that must not be trusted. */
export class WebhookVerificationError extends Error {
  readonly reason: WebhookErrorReason;
  constructor(reason: WebhookErrorReason, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

export interface VerifyWebhookOptions {
  /** Seconds either side of now (default 300). */
  toleranceSeconds?: number | undefined;
  /** The receiver's clock, in milliseconds since the epoch (default Date.now()). */
  now?: number | undefined;
}

/**
 * Checks a delivery: `payload` is the raw body as received (a string or
 * bytes, before any JSON parsing), `header` its AMP-Signature header, and
 * `secret` the endpoint's signing secret (whsec_…). Returns the parsed
 * event, or throws WebhookVerificationError.
 */
export function verifyWebhook(
  payload: string | Uint8Array,
  header: string | null | undefined,
  secret: string,
  options: VerifyWebhookOptions = {},
): WebhookEvent {
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now();
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of (header ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      throw new WebhookVerificationError('header', `malformed ${SIGNATURE_HEADER} header`);
    }
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') timestamp = value;
    else if (key === 'v1') signatures.push(value);
  }
  if (timestamp === undefined || !/^[0-9]+$/.test(timestamp) || signatures.length === 0) {
    throw new WebhookVerificationError('header', `malformed ${SIGNATURE_HEADER} header`);
  }
  const age = now / 1000 - Number(timestamp);
  if (Math.abs(age) > tolerance) {
    throw new WebhookVerificationError('timestamp', 'timestamp outside the tolerance window');
  }
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const expected = createHmac('sha256', secret).update(timestamp + '.').update(body).digest();
  const matched = signatures.some((s) => {
    if (!/^[0-9a-f]{64}$/.test(s)) return false;
    return timingSafeEqual(Buffer.from(s, 'hex'), expected);
  });
  if (!matched) {
    throw new WebhookVerificationError('signature', 'no signature matches the body and secret');
  }
  try {
    return JSON.parse(body.toString('utf8')) as WebhookEvent;
  } catch {
    throw new WebhookVerificationError('body', 'the signed body is not JSON');
  }
}
