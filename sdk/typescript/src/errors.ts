/** Error codes the AMP API returns in its error envelope. */
export type APIErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_USER_ID'
  | 'INVALID_TASK'
  | 'INVALID_PREFERENCE'
  | 'UNAUTHORIZED'
  | 'KEY_EXPIRED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'INVALID_REQUEST_ID'
  | 'METHOD_NOT_ALLOWED'
  | 'OUTCOME_ALREADY_REPORTED'
  | 'REQUEST_EXPIRED'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMIT_EXCEEDED'
  | 'QUOTA_EXCEEDED'
  | 'INTERNAL_ERROR'
  | 'SERVICE_UNAVAILABLE';

/**
 * Error codes the client itself raises, when there is no API answer to decode:
 * no key configured, the request timed out or was aborted by the caller, the
 * network failed, or the server answered something that is not AMP's JSON.
 */
export type ClientErrorCode =
  | 'MISSING_API_KEY'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CONNECTION_ERROR'
  | 'INVALID_RESPONSE'
  | 'HTTP_ERROR';

/** Any code an AMPError may carry; a future server code is still a string. */
export type AMPErrorCode = APIErrorCode | ClientErrorCode | (string & {});

export interface AMPErrorInit {
  code: AMPErrorCode;
  message: string;
  status?: number | null | undefined;
  details?: Record<string, unknown> | undefined;
  requestId?: string | null | undefined;
  cause?: unknown;
}

/**
 * The one error type of the client: every failed call rejects with it.
 * `status` is the HTTP status, or null when no response arrived; `requestId`
 * is the server's `req_…` id of the failed request (quote it to support).
 */
export class AMPError extends Error {
  readonly code: AMPErrorCode;
  readonly status: number | null;
  readonly details: Record<string, unknown>;
  readonly requestId: string | null;

  constructor(init: AMPErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AMPError';
    this.code = init.code;
    this.status = init.status ?? null;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? null;
  }
}
