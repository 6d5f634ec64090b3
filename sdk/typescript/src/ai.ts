// @amp-protocol/client/ai: middleware for the Vercel AI SDK (`ai` on npm,
// major 6: language-model middleware of specification v3). It
// imports only types from `ai`, so that the client keeps no runtime
// dependency; `ai` is an optional peer dependency.
import type { LanguageModelMiddleware } from 'ai';
import type { AMP, RequestOptions } from './client.js';
import type { GetContextParams, MotivationContext, OutcomeParams } from './types.js';
import { toSystemPrompt } from './prompt.js';

/** Options of {@link ampMiddleware}: the client, and the task to present to one user. */
export interface AmpMiddlewareOptions extends GetContextParams {
  client: AMP;
  /** Options of the getContext call (a signal, a timeout). */
  requestOptions?: RequestOptions | undefined;
  /** Called once with the context, when it has been fetched. */
  onContext?: ((context: MotivationContext) => void) | undefined;
}

/** One task presented to one user: the middleware, its context, and the outcome report. */
export interface AmpSession {
  /** Pass it to `wrapLanguageModel({ model, middleware })`. */
  readonly middleware: LanguageModelMiddleware;
  /** The context's requestId, once the first call has fetched it. */
  readonly requestId: string | undefined;
  /** The context, once the first call has fetched it. */
  readonly context: MotivationContext | undefined;
  /** Fetches the context now, if no call has yet; returns it. */
  getContext(): Promise<MotivationContext>;
  /** Reports what the user did with the task, under the session's requestId. */
  reportOutcome(outcome: Omit<OutcomeParams, 'requestId'>, options?: RequestOptions): Promise<void>;
}

/**
 * Returns a session for one task of one user. Its middleware asks AMP for a
 * context before the wrapped model's first call (once: later calls of the
 * same session, such as the steps of a tool loop, reuse it) and adds
 * {@link toSystemPrompt}'s fragment to the system prompt: appended to the
 * first system message, or as a system message of its own before the
 * others. A failed getContext fails the model call with the AMPError.
 *
 * ```ts
 * const session = ampMiddleware({ client: amp, userId: 'user_123', task: 'write the release notes' });
 * const model = wrapLanguageModel({ model: yourModel, middleware: session.middleware });
 * await generateText({ model, prompt: 'Draft the notes for v2.1.' });
 * await session.reportOutcome({ started: true, completed: true });
 * ```
 */
export function ampMiddleware(options: AmpMiddlewareOptions): AmpSession {
  const { client, requestOptions, onContext, ...params } = options;
  let context: MotivationContext | undefined;
  let pending: Promise<MotivationContext> | undefined;

  const getContext = (): Promise<MotivationContext> => {
    if (context) return Promise.resolve(context);
    if (!pending) {
      pending = client.getContext(params, requestOptions).then(
        (c) => {
          context = c;
          onContext?.(c);
          return c;
        },
        (err: unknown) => {
          pending = undefined; // a later call may try again
          throw err;
        },
      );
    }
    return pending;
  };

  const middleware: LanguageModelMiddleware = {
    specificationVersion: 'v3',
    async transformParams({ params: callParams }) {
      const fragment = toSystemPrompt(await getContext());
      const prompt = [...callParams.prompt];
      const first = prompt[0];
      if (first && first.role === 'system') {
        prompt[0] = { ...first, content: `${first.content}\n\n${fragment}` };
      } else {
        prompt.unshift({ role: 'system', content: fragment });
      }
      return { ...callParams, prompt };
    },
  };

  return {
    middleware,
    get requestId() {
      return context?.requestId;
    },
    get context() {
      return context;
    },
    getContext,
    async reportOutcome(outcome, reportOptions) {
      if (!context) {
        throw new Error('amp: no context yet: the wrapped model has not been called, nor getContext()');
      }
      await client.reportOutcome({ ...outcome, requestId: context.requestId }, reportOptions);
    },
  };
}
