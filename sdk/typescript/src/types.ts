// Wire types of the AMP API, named as in the AMP documentation. JSON keys are
// camelCase on the wire and here; enum values are spelt exactly as the API
// sends them (`optimised` is British).

/** How a task is presented to the user. */
export type FramingType = 'achievement' | 'learning' | 'micro_task' | 'challenge';

/** How to communicate with the user. */
export type CommunicationStyle =
  | 'brief_directive'
  | 'detailed_explanatory'
  | 'conversational'
  | 'technical';

/**
 * How much of a task's complexity to hand the user at once: the `complexity`
 * of a context and the `complexityPreference` of a profile.
 */
export type ComplexityLevel = 'full_solution' | 'break_into_steps' | 'hints_only' | 'high_level';

/** The amount of positivity in a response. */
export type EncouragementLevel = 'high' | 'moderate' | 'minimal' | 'none';

/** The caller's hint about a task's difficulty (the request's `complexity`). */
export type TaskComplexity = 'low' | 'medium' | 'high';

/** The maturity of a user's profile. */
export type ProfilePhase = 'cold_start' | 'learning' | 'optimised';

/** Every value of each enum, in the server's order, for validation and UIs. */
export const FRAMING_TYPES: readonly FramingType[] = ['achievement', 'learning', 'micro_task', 'challenge'];
export const COMMUNICATION_STYLES: readonly CommunicationStyle[] = [
  'brief_directive',
  'detailed_explanatory',
  'conversational',
  'technical',
];
export const COMPLEXITY_LEVELS: readonly ComplexityLevel[] = [
  'full_solution',
  'break_into_steps',
  'hints_only',
  'high_level',
];
export const ENCOURAGEMENT_LEVELS: readonly EncouragementLevel[] = ['high', 'moderate', 'minimal', 'none'];
export const TASK_COMPLEXITIES: readonly TaskComplexity[] = ['low', 'medium', 'high'];
export const PROFILE_PHASES: readonly ProfilePhase[] = ['cold_start', 'learning', 'optimised'];

/** Free-form JSON object attached to a request or a profile. */
export type Metadata = Record<string, unknown>;

/** Parameters of `getContext` (body of `POST /context`). */
export interface GetContextParams {
  /** Your own stable identifier of the end user; opaque to AMP. */
  userId: string;
  /** What the user wants to do, e.g. "build a login page". */
  task: string;
  complexity?: TaskComplexity | undefined;
  /** Free-form category such as "coding", "debugging" or "writing". */
  taskType?: string | undefined;
  metadata?: Metadata | undefined;
}

/** The response of `getContext`: how to present this task to this user. */
export interface MotivationContext {
  /** Keep it: `reportOutcome` needs it. */
  requestId: string;
  suggestedFraming: FramingType;
  communicationStyle: CommunicationStyle;
  complexity: ComplexityLevel;
  encouragement: EncouragementLevel;
  /** 0–1. */
  confidence: number;
  rationale: string;
  metadata: {
    profilePhase: ProfilePhase;
    interactionCount: number;
    explorationMode: boolean;
  };
}

/** Parameters of `reportOutcome` (body of `POST /outcome`). */
export interface OutcomeParams {
  requestId: string;
  started: boolean;
  completed?: boolean | undefined;
  /** Seconds from the agent's response until the user started; ≥ 0. */
  timeToStart?: number | undefined;
  flowState?: boolean | undefined;
  /** Explicit feedback in [0, 1]. */
  satisfaction?: number | undefined;
  metadata?: Metadata | undefined;
}

/**
 * Parameters of `updateProfile`. `userId` goes into the path of
 * `PUT /profile/{userId}`; the other fields form the partial update.
 */
export interface UpdateProfileParams {
  userId: string;
  preferredFraming?: FramingType | undefined;
  communicationStyle?: CommunicationStyle | undefined;
  complexityPreference?: ComplexityLevel | undefined;
  encouragementLevel?: EncouragementLevel | undefined;
  metadata?: Metadata | undefined;
}

/** Completion rate of the outcomes whose context was asked within [hourStart, hourEnd] UTC. */
export interface TimePattern {
  hourStart: number;
  hourEnd: number;
  completionRate: number;
  interactionCount: number;
}

/** A user's motivation profile, as returned by the profile methods. */
export interface MotivationProfile {
  userId: string;
  preferredFraming: FramingType;
  communicationStyle: CommunicationStyle;
  complexityPreference: ComplexityLevel;
  encouragementLevel: EncouragementLevel;

  totalInteractions: number;
  completionRate: number;
  averageTimeToStart: number;
  flowStateFrequency: number;

  framingConfidence: number;
  styleConfidence: number;
  complexityConfidence: number;

  taskTypeAffinities: Record<string, number>;
  timeOfDayPatterns: TimePattern[];

  /** Parsed from the RFC 3339 string on the wire. */
  createdAt: Date;
  /** Parsed from the RFC 3339 string on the wire. */
  lastUpdated: Date;
  profileVersion: string;

  profilePhase: ProfilePhase;
  metadata?: Metadata;
}
