import { AMPError, type AMPErrorCode } from './errors.js';
import type {
  GetContextParams,
  MotivationContext,
  MotivationProfile,
  OutcomeParams,
  UpdateProfileParams,
} from './types.js';

/** The version of this package, sent in the User-Agent header. */
export const VERSION = '0.1.0';

/** The hosted API; self-hosters point `baseUrl` (or AMP_BASE_URL) at their own `amp serve`. */
export const DEFAULT_BASE_URL = 'https://api.amp-protocol.dev/v1';
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RETRIES = 2;

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface AMPOptions {
  /** Defaults to the AMP_API_KEY environment variable, then AMP_KEY. */
  apiKey?: string | undefined;
  /** Defaults to the AMP_BASE_URL environment variable, then https://api.amp-protocol.dev/v1. */
  baseUrl?: string | undefined;
  /** Milliseconds one attempt may take, body included (default 10000). */
  timeout?: number | undefined;
  /** Retries after the first attempt (default 2, so at most 3 attempts). */
  maxRetries?: number | undefined;
  /** First backoff delay in ms when the server names none (default 500); doubles per retry. */
  retryBaseDelay?: number | undefined;
  /** Cap of the computed backoff delay in ms (default 8000). */
  retryMaxDelay?: number | undefined;
  /**
   * The longest wait in ms the client accepts from the server's retryAfter
   * (default 60000). A longer one is not slept through: the error is thrown
   * at once so that the caller can degrade gracefully.
   */
  maxRetryAfter?: number | undefined;
  /** A fetch implementation (default: the global fetch of Node 18+). */
  fetch?: FetchLike | undefined;
  /** Waits between attempts (default: a timer). Injected by tests. */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** A source of uniform numbers in [0, 1) for backoff jitter (default Math.random). */
  random?: (() => number) | undefined;
  /** The current time in ms since the epoch, to read a Retry-After date (default Date.now). */
  now?: (() => number) | undefined;
}

/** Per-call overrides. */
export interface RequestOptions {
  timeout?: number | undefined;
  maxRetries?: number | undefined;
  /** Aborts the call, including a pending retry wait; it then rejects with code ABORTED. */
  signal?: AbortSignal | undefined;
}

type Attempt =
  | { ok: true; data: unknown }
  | { ok: false; error: AMPError; retryAfterMs?: number | undefined };

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /**
   * reportOutcome only: a 409 OUTCOME_ALREADY_REPORTED that follows an
   * attempt whose fate is unknown (timeout, dropped connection, 5xx) means
   * that attempt was stored, so the call has succeeded.
   */
  conflictAfterUnknownIsSuccess?: boolean;
}

/**
 * The AMP client.
 *
 *     const amp = new AMP({ apiKey: process.env.AMP_API_KEY });
 *     const ctx = await amp.getContext({ userId: 'user_123', task: 'build a login page' });
 */
export class AMP {
  readonly baseUrl: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly #apiKey: string;
  readonly #retryBaseDelay: number;
  readonly #retryMaxDelay: number;
  readonly #maxRetryAfter: number;
  readonly #fetch: FetchLike;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(apiKeyOrOptions?: string | AMPOptions) {
    const options: AMPOptions =
      typeof apiKeyOrOptions === 'string' || apiKeyOrOptions === undefined
        ? { apiKey: apiKeyOrOptions }
        : apiKeyOrOptions;

    const apiKey = nonEmpty(options.apiKey) ?? readEnv('AMP_API_KEY') ?? readEnv('AMP_KEY');
    if (apiKey === undefined) {
      throw new AMPError({
        code: 'MISSING_API_KEY',
        message:
          'No AMP API key: pass { apiKey } to new AMP() or set the AMP_API_KEY environment variable.',
      });
    }
    this.#apiKey = apiKey;
    this.baseUrl = (nonEmpty(options.baseUrl) ?? readEnv('AMP_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.timeout = positive('timeout', options.timeout, DEFAULT_TIMEOUT_MS);
    this.maxRetries = count('maxRetries', options.maxRetries, DEFAULT_MAX_RETRIES);
    this.#retryBaseDelay = nonNegative('retryBaseDelay', options.retryBaseDelay, 500);
    this.#retryMaxDelay = nonNegative('retryMaxDelay', options.retryMaxDelay, 8_000);
    this.#maxRetryAfter = nonNegative('maxRetryAfter', options.maxRetryAfter, 60_000);
    // Wrapped, not stored bare: some fetch implementations refuse to run
    // with `this` bound to another object.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#sleep = options.sleep ?? sleep;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Asks how to present a task to a user (POST /context). Keep the returned requestId. */
  async getContext(params: GetContextParams, options?: RequestOptions): Promise<MotivationContext> {
    return (await this.#request({ method: 'POST', path: '/context', body: params }, options)) as MotivationContext;
  }

  /** Reports what the user did with a context (POST /outcome). */
  async reportOutcome(params: OutcomeParams, options?: RequestOptions): Promise<void> {
    await this.#request(
      { method: 'POST', path: '/outcome', body: params, conflictAfterUnknownIsSuccess: true },
      options,
    );
  }

  /**
   * Sets some of a user's preferences (PUT /profile/{userId}); the fields
   * left out keep their values. Creates the profile if there is none.
   */
  async updateProfile(params: UpdateProfileParams, options?: RequestOptions): Promise<MotivationProfile> {
    const { userId, ...update } = params;
    const data = await this.#request({ method: 'PUT', path: profilePath(userId), body: update }, options);
    return toProfile(data);
  }

  /** Reads a user's full profile (GET /profile/{userId}); NOT_FOUND if the user has none. */
  async getProfile(userId: string, options?: RequestOptions): Promise<MotivationProfile> {
    return toProfile(await this.#request({ method: 'GET', path: profilePath(userId) }, options));
  }

  /** Erases a user's profile, outcomes and pending requests (DELETE /profile/{userId}). */
  async deleteProfile(userId: string, options?: RequestOptions): Promise<void> {
    await this.#request({ method: 'DELETE', path: profilePath(userId) }, options);
  }

  async #request(call: Call, options: RequestOptions = {}): Promise<unknown> {
    const timeout = positive('timeout', options.timeout, this.timeout);
    const maxRetries = count('maxRetries', options.maxRetries, this.maxRetries);
    const signal = options.signal;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.#apiKey}`,
      Accept: 'application/json',
      'User-Agent': `amp-protocol-client-typescript/${VERSION}`,
    };
    let body: string | undefined;
    if (call.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(call.body);
    }

    let outcomeUnknown = false;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw aborted(signal);
      const result = await this.#attempt(call, headers, body, timeout, signal);
      if (result.ok) return result.data;

      const err = result.error;
      if (
        call.conflictAfterUnknownIsSuccess &&
        outcomeUnknown &&
        err.code === 'OUTCOME_ALREADY_REPORTED'
      ) {
        return undefined;
      }
      const delay = attempt < maxRetries ? this.#retryDelay(err, result.retryAfterMs, attempt) : undefined;
      if (delay === undefined) throw err;
      // A rate-limited request "costs nothing and changes nothing"
      // (docs/api.md, "Plans and limits"); any other failure may have reached the store.
      if (err.status !== 429) outcomeUnknown = true;
      try {
        await this.#sleep(delay, signal);
      } catch (cause) {
        if (signal?.aborted) throw aborted(signal);
        throw cause;
      }
    }
  }

  async #attempt(
    call: Call,
    headers: Record<string, string>,
    body: string | undefined,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });

    let res: Response;
    let text: string;
    try {
      const init: RequestInit = { method: call.method, headers, signal: controller.signal };
      if (body !== undefined) init.body = body;
      res = await this.#fetch(this.baseUrl + call.path, init);
      // The body is read under the same timer: a server that stalls
      // mid-body is a timeout too.
      text = await res.text();
    } catch (cause) {
      if (signal?.aborted) throw aborted(signal);
      if (timedOut) {
        return {
          ok: false,
          error: new AMPError({
            code: 'TIMEOUT',
            message: `${call.method} ${call.path} timed out after ${timeout} ms`,
            cause,
          }),
        };
      }
      return {
        ok: false,
        error: new AMPError({
          code: 'CONNECTION_ERROR',
          message: `${call.method} ${call.path} failed: ${describe(cause)}`,
          cause,
        }),
      };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }

    const headerRequestId = res.headers.get('x-request-id');
    if (res.ok) {
      if (text === '') return { ok: true, data: undefined };
      try {
        return { ok: true, data: JSON.parse(text) as unknown };
      } catch (cause) {
        return {
          ok: false,
          error: new AMPError({
            code: 'INVALID_RESPONSE',
            message: `${call.method} ${call.path} answered ${res.status} with a body that is not JSON`,
            status: res.status,
            requestId: headerRequestId,
            cause,
          }),
        };
      }
    }
    const envelope = errorObject(text);
    return {
      ok: false,
      error: decodeError(res.status, envelope, text, headerRequestId),
      retryAfterMs: retryAfterMs(envelope, res.headers.get('retry-after'), this.#now),
    };
  }

  /**
   * Returns how long to wait before retrying after err, or undefined when
   * err must not be retried. Rate limits and unavailability honour the
   * server's retryAfter; other 4xx answers never change on a retry.
   */
  #retryDelay(err: AMPError, serverDelay: number | undefined, attempt: number): number | undefined {
    const status = err.status;
    const retryable =
      status === null
        ? err.code === 'TIMEOUT' || err.code === 'CONNECTION_ERROR'
        : (status === 429 && err.code !== 'QUOTA_EXCEEDED') || (status >= 500 && status !== 501);
    if (!retryable) return undefined;

    if (serverDelay !== undefined) {
      if (serverDelay > this.#maxRetryAfter) return undefined;
      // Jitter only adds to the server's delay, so that clients limited
      // together do not come back in the same instant.
      return serverDelay + this.#random() * Math.min(serverDelay * 0.1, 1_000);
    }
    const ceiling = Math.min(this.#retryMaxDelay, this.#retryBaseDelay * 2 ** attempt);
    return ceiling / 2 + (this.#random() * ceiling) / 2;
  }
}

function decodeError(
  status: number,
  e: Record<string, unknown> | undefined,
  text: string,
  headerRequestId: string | null,
): AMPError {
  if (e !== undefined && typeof e.code === 'string') {
    return new AMPError({
      code: e.code,
      message: typeof e.message === 'string' ? e.message : `HTTP ${status}`,
      status,
      details: isObject(e.details) ? e.details : {},
      requestId: typeof e.requestId === 'string' ? e.requestId : headerRequestId,
    });
  }
  // Not AMP's envelope: a proxy or load balancer answered.
  return new AMPError({
    code: codeForStatus(status),
    message: `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    status,
    requestId: headerRequestId,
  });
}

/** The `error` object of AMP's envelope in text, if text is one. */
function errorObject(text: string): Record<string, unknown> | undefined {
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(envelope) && isObject(envelope.error) ? envelope.error : undefined;
}

/**
 * The wait in ms the server asks for: the envelope's details.retryAfter
 * (seconds, possibly fractional) or else the Retry-After header.
 */
function retryAfterMs(
  e: Record<string, unknown> | undefined,
  header: string | null,
  now: () => number,
): number | undefined {
  const details = e?.details;
  const fromBody = isObject(details) ? details.retryAfter : undefined;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody * 1000;
  return parseRetryAfter(header, now);
}

/** Reads a Retry-After header: delay-seconds or an HTTP date. */
function parseRetryAfter(value: string | null, now: () => number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now());
}

function codeForStatus(status: number): AMPErrorCode {
  switch (status) {
    case 400:
      return 'INVALID_REQUEST';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMIT_EXCEEDED';
    case 500:
      return 'INTERNAL_ERROR';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    default:
      return 'HTTP_ERROR';
  }
}

function profilePath(userId: string): string {
  if (typeof userId !== 'string' || userId === '') {
    throw new AMPError({ code: 'INVALID_USER_ID', message: 'userId must be a non-empty string' });
  }
  return `/profile/${encodeURIComponent(userId)}`;
}

function toProfile(data: unknown): MotivationProfile {
  if (!isObject(data)) {
    throw new AMPError({ code: 'INVALID_RESPONSE', message: 'the profile response is not a JSON object' });
  }
  const profile = { ...data } as Record<string, unknown>;
  for (const key of ['createdAt', 'lastUpdated']) {
    if (typeof profile[key] === 'string') profile[key] = new Date(profile[key] as string);
  }
  return profile as unknown as MotivationProfile;
}

function aborted(signal: AbortSignal): AMPError {
  return new AMPError({ code: 'ABORTED', message: 'the request was aborted', cause: signal.reason });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return nonEmpty(env?.[name]);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number of ms`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a number ≥ 0`);
  return value;
}

function count(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isInteger(value) && value >= 0)) throw new RangeError(`${name} must be an integer ≥ 0`);
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
  }
  return String(cause);
}
