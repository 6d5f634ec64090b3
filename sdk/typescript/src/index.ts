// @amp-protocol/client: the TypeScript client of AMP, the Adaptive Motivation
// Protocol. No runtime dependencies: it uses the fetch of Node 18+.
export { AMP, VERSION, DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RETRIES } from './client.js';
export type { AMPOptions, RequestOptions } from './client.js';
export { AMPError } from './errors.js';
export type { AMPErrorCode, APIErrorCode, ClientErrorCode, AMPErrorInit } from './errors.js';
export {
  FRAMING_TYPES,
  COMMUNICATION_STYLES,
  COMPLEXITY_LEVELS,
  ENCOURAGEMENT_LEVELS,
  TASK_COMPLEXITIES,
  PROFILE_PHASES,
} from './types.js';
export type {
  FramingType,
  CommunicationStyle,
  ComplexityLevel,
  EncouragementLevel,
  TaskComplexity,
  ProfilePhase,
  Metadata,
  GetContextParams,
  MotivationContext,
  OutcomeParams,
  UpdateProfileParams,
  TimePattern,
  MotivationProfile,
} from './types.js';
export { toSystemPrompt } from './prompt.js';
export {
  verifyWebhook,
  WebhookVerificationError,
  SIGNATURE_HEADER,
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
} from './webhook.js';
export type { WebhookEvent, WebhookEventType, WebhookErrorReason, VerifyWebhookOptions } from './webhook.js';
