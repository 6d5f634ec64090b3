// A local HTTP server for the unit tests: it records every request and
// answers through a handler each test sets. `ampEmulator` is a handler that
// behaves like AMP's wire contract closely enough to run the docs' snippets
// and the example agent without the real server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  /** The raw request target, percent-encoding kept, e.g. /v1/profile/a%2Fb. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body parsed as JSON, or undefined when there was none. */
  body: unknown;
  raw: string;
}

export type Handler = (req: Recorded, res: http.ServerResponse) => void;

export class FakeServer {
  readonly requests: Recorded[] = [];
  handler: Handler = (_req, res) => sendError(res, 404, 'NOT_FOUND', 'no handler set');
  readonly baseUrl: string;
  readonly #server: http.Server;

  private constructor(server: http.Server) {
    this.#server = server;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}/v1`;
  }

  static async start(handler?: Handler): Promise<FakeServer> {
    let fake: FakeServer | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const rec: Recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: raw === '' ? undefined : JSON.parse(raw),
          raw,
        };
        fake!.requests.push(rec);
        fake!.handler(rec, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake = new FakeServer(server);
    if (handler) fake.handler = handler;
    return fake;
  }

  /** Sets the handler and forgets earlier requests. */
  reset(handler: Handler): void {
    this.requests.length = 0;
    this.handler = handler;
  }

  async close(): Promise<void> {
    // Hanging handlers never answer; drop their connections so close ends.
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

let requestSeq = 0;

export function sendJSON(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const requestId = headers['X-Request-Id'] ?? `req_fake${++requestSeq}`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Request-Id': requestId, ...headers });
  res.end(JSON.stringify(body));
}

export function sendError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  const requestId = `req_err${++requestSeq}`;
  sendJSON(
    res,
    status,
    {
      error: {
        code,
        message,
        ...(details ? { details } : {}),
        requestId,
        timestamp: new Date(0).toISOString(),
      },
    },
    { 'X-Request-Id': requestId, ...headers },
  );
}

/** Answers the queued handlers one per request, then repeats the last. */
export function sequence(...handlers: Handler[]): Handler {
  let i = 0;
  return (req, res) => handlers[Math.min(i++, handlers.length - 1)]!(req, res);
}

/** A handler that never answers: for timeouts. */
export const hang: Handler = () => {};

export function sampleContext(requestId = 'req_abc123'): Record<string, unknown> {
  return {
    requestId,
    suggestedFraming: 'micro_task',
    communicationStyle: 'brief_directive',
    complexity: 'break_into_steps',
    encouragement: 'moderate',
    confidence: 0.87,
    rationale: 'User has 85% completion rate with step-by-step guidance',
    metadata: { profilePhase: 'optimised', interactionCount: 47, explorationMode: false },
  };
}

export function sampleProfile(userId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    userId,
    preferredFraming: 'achievement',
    communicationStyle: 'brief_directive',
    complexityPreference: 'break_into_steps',
    encouragementLevel: 'minimal',
    totalInteractions: 3,
    completionRate: 0.66,
    averageTimeToStart: 12.5,
    flowStateFrequency: 0.33,
    framingConfidence: 0.3,
    styleConfidence: 0.25,
    complexityConfidence: 0.2,
    taskTypeAffinities: { coding: 0.8 },
    timeOfDayPatterns: [{ hourStart: 9, hourEnd: 11, completionRate: 1, interactionCount: 2 }],
    createdAt: '2024-01-15T10:30:00.123456789Z',
    lastUpdated: '2024-01-16T08:00:00Z',
    profileVersion: '2.1',
    profilePhase: 'cold_start',
    ...overrides,
  };
}

const ENUMS: Record<string, readonly string[]> = {
  preferredFraming: ['achievement', 'learning', 'micro_task', 'challenge'],
  communicationStyle: ['brief_directive', 'detailed_explanatory', 'conversational', 'technical'],
  complexityPreference: ['full_solution', 'break_into_steps', 'hints_only', 'high_level'],
  encouragementLevel: ['high', 'moderate', 'minimal', 'none'],
};

/**
 * An in-memory stand-in for `amp serve` that follows the wire contract's
 * routes, bearer auth and error codes (no learning: every context is the
 * same recommendation).
 */
export function ampEmulator(apiKey: string): Handler {
  const profiles = new Map<string, Record<string, unknown>>();
  const requests = new Map<string, { userId: string; reported: boolean }>();
  let seq = 0;

  const profileOf = (userId: string): Record<string, unknown> => {
    let p = profiles.get(userId);
    if (!p) {
      p = sampleProfile(userId, { totalInteractions: 0, metadata: undefined });
      profiles.set(userId, p);
    }
    return p;
  };

  return (req, res) => {
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      sendError(res, 401, 'UNAUTHORIZED', 'Invalid API key.');
      return;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const profileMatch = /^\/v1\/profile\/([^/?]+)$/.exec(req.url);
    if (req.method === 'POST' && req.url === '/v1/context') {
      if (typeof body.userId !== 'string' || body.userId === '') {
        sendError(res, 400, 'INVALID_USER_ID', 'userId is required.');
        return;
      }
      if (typeof body.task !== 'string' || body.task === '') {
        sendError(res, 400, 'INVALID_TASK', 'task is required.');
        return;
      }
      const p = profileOf(body.userId);
      const requestId = `req_emu${++seq}`;
      requests.set(requestId, { userId: body.userId, reported: false });
      const ctx = sampleContext(requestId);
      ctx.metadata = { profilePhase: 'cold_start', interactionCount: p.totalInteractions, explorationMode: true };
      sendJSON(res, 200, ctx, { 'X-Request-Id': requestId });
    } else if (req.method === 'POST' && req.url === '/v1/outcome') {
      const r = typeof body.requestId === 'string' ? requests.get(body.requestId) : undefined;
      if (!r) {
        sendError(res, 404, 'INVALID_REQUEST_ID', 'Request ID not found.');
      } else if (r.reported) {
        sendError(res, 409, 'OUTCOME_ALREADY_REPORTED', 'Outcome already reported for this request.');
      } else if (typeof body.started !== 'boolean') {
        sendError(res, 400, 'INVALID_REQUEST', 'started is required.');
      } else {
        r.reported = true;
        const p = profileOf(r.userId);
        p.totalInteractions = (p.totalInteractions as number) + 1;
        sendJSON(res, 200, { success: true, message: 'Outcome reported successfully' });
      }
    } else if (profileMatch) {
      const userId = decodeURIComponent(profileMatch[1]!);
      if (req.method === 'GET' || req.method === 'DELETE') {
        if (!profiles.has(userId)) {
          sendError(res, 404, 'NOT_FOUND', 'Profile not found.');
        } else if (req.method === 'GET') {
          sendJSON(res, 200, profiles.get(userId));
        } else {
          profiles.delete(userId);
          sendJSON(res, 200, { success: true });
        }
      } else if (req.method === 'PUT') {
        for (const key of Object.keys(body)) {
          if (key !== 'metadata' && !(key in ENUMS)) {
            sendError(res, 400, 'INVALID_REQUEST', `unknown field ${key}`);
            return;
          }
          if (key in ENUMS && !ENUMS[key]!.includes(body[key] as string)) {
            sendError(res, 400, 'INVALID_PREFERENCE', `invalid ${key}`);
            return;
          }
        }
        const p = profileOf(userId);
        Object.assign(p, body, { lastUpdated: new Date().toISOString() });
        sendJSON(res, 200, p);
      } else {
        sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Method not allowed.', undefined, { Allow: 'GET, PUT, DELETE' });
      }
    } else {
      sendError(res, 404, 'NOT_FOUND', 'Unknown route.');
    }
  };
}
