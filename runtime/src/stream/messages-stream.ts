/**
 * The client's Anthropic message stream, kept whole across upstream failures, as
 * resilient-stream.ts keeps chat streams: a stall or a break after the first byte is
 * continued on another route (client-message.ts says what the client has and how a
 * continuation asks for the rest); only when nothing can continue it does the stream end
 * with an `error` event. An answer whose stop reason came is whole even if its stream
 * then broke. Usage is the whole answer's.
 */
import { DeadlinePassed, type Cancellation } from '../core/cancellation';
import type { MessagesRequest } from '../core/messages-request';
import { brokenStreamMessage, isProviderError, ProviderError, STREAM_INTERRUPTED } from '../providers/errors';
import type { MessagesEvent } from '../providers/messages-types';
import type { Notes, Route, UpstreamMeta } from '../providers/types';
import type { Answered } from '../routing/executor';
import { ClientMessage, type MessageUsage } from './client-message';
import { IdleWatchdog } from './idle-watchdog';
import { CONTINUE_PROMPT, MAX_CONTINUATIONS } from './resilient-stream';
import type { SseFraming } from './sse-response';
import type { StartedStream } from './started-stream';

export type StartedMessages = StartedStream<MessagesEvent> & Notes;

export interface MessagesContinuationDeps {
  /** The request as validated, for continuation requests (the proxy validates it only then). */
  request(): MessagesRequest;
  cancel: Cancellation;
  /** Runs the failover loop again for a continuation, skipping `exclude`; `build` gives a route's requests, best first. */
  continueOn(build: (route: Route) => MessagesRequest[], exclude: ReadonlySet<string>): Promise<Answered<StartedMessages>>;
  onStreamFailure(route: Route, err: ProviderError): void;
  idleMs: number;
  /** Whether the route's target continues a trailing assistant turn. */
  prefill(route: Route): boolean;
  now: () => number;
}

export interface MessagesOutcome {
  /** The route that finished the answer (set with its stop reason). */
  route?: Route;
  continuations: number;
  /** The whole answer's usage (set with its stop reason, before that message_delta goes out, and when the stream ends). */
  usage?: MessageUsage;
  /** The text the client received (set when the stream ends). */
  text?: string;
  /** What the gateway left out for the targets, and how the answer was completed. */
  notes: string[];
  /**
   * When given, filled with every upstream answer of the stream in order, with what it
   * cost: the one that finishes the answer with its stop reason (before that
   * message_delta goes out, where a spoke prices it), a broken one when it broke.
   */
  segments?: MessagesSegment[];
}

export interface MessagesSegment {
  route: Route;
  meta: UpstreamMeta;
  /** Its prompt as it reported it, its output reported or estimated from what it sent. */
  usage: MessageUsage;
}

export async function* resilientMessages(first: Answered<StartedMessages>, deps: MessagesContinuationDeps, outcome: MessagesOutcome): AsyncGenerator<MessagesEvent> {
  const message = new ClientMessage(deps.now);
  let current = first;
  const tried = new Set<string>([first.route.key]);
  let settled = false;
  let recorded = false;
  /** The current upstream's part of the answer, once. */
  const record = () => {
    if (recorded) return;
    recorded = true;
    outcome.segments?.push({ route: current.route, meta: current.value, usage: message.attemptUsage() });
  };
  const settle = () => {
    settled = true;
    current.settle(message.usage.input_tokens + message.attemptTokens());
    record();
  };
  const usage = (): MessageUsage => ({ ...message.usage, output_tokens: message.outputTokens() });
  /** The client's events for an upstream event; with the stop reason the answer is known whole (a spoke prices it in that event). */
  const accept = (ev: MessagesEvent): MessagesEvent[] => {
    const out = message.accept(ev);
    if (ev.type === 'message_delta' && message.stopReason !== undefined) {
      outcome.route = current.route;
      outcome.usage = usage();
      record();
    }
    return out;
  };
  try {
    for (;;) {
      const started = current.value;
      if (started.notes) outcome.notes.push(...started.notes);
      settled = false;
      recorded = false;
      let failure: ProviderError | undefined;
      const idle = new IdleWatchdog(started, deps.idleMs);
      try {
        for (const out of accept(started.first)) yield out;
        for (;;) {
          const next = await idle.next();
          if (next.done) break;
          for (const out of accept(next.value)) yield out;
        }
      } catch (err) {
        // The client left or the deadline passed: not the route's fault, nothing to continue.
        if (deps.cancel.aborted) {
          started.abort(err);
          settle();
          throw deps.cancel.reason ?? err;
        }
        failure = isProviderError(err) ? err : new ProviderError('transient', (err as Error)?.message ?? String(err), { cause: err });
      } finally {
        idle.stop();
      }

      if (!failure) {
        // The upstream's reader ends only after the stop reason: the answer is whole.
        for (const out of message.finish()) yield out;
        settle();
        outcome.route = current.route;
        break;
      }
      started.abort(failure);
      settle();
      deps.onStreamFailure(current.route, failure);
      // A whole answer whose message_stop was lost is complete: finish it.
      if (message.stopReason !== undefined) {
        for (const out of message.finish()) yield out;
        outcome.route = current.route;
        break;
      }
      if (outcome.continuations >= MAX_CONTINUATIONS || !failure.retryable) throw failure;

      const request = deps.request();
      try {
        current = await deps.continueOn((route) => message.continuation(request, deps.prefill(route), CONTINUE_PROMPT), tried);
        outcome.continuations++; // counted once a route took it on: a try that found none continued nothing
      } catch (err) {
        // The deadline passed (or the client left) meanwhile: that is what ended the answer.
        if (deps.cancel.aborted) throw deps.cancel.reason ?? err;
        // After complete tool calls the answer can end there: the client runs them, the model asks again for what it still needs.
        if (message.endsAtToolUse()) {
          outcome.notes.push('stream ended after its complete tool calls (no route could continue it)');
          const end = message.finishAtToolUse();
          outcome.route = current.route;
          outcome.usage = usage();
          for (const out of end) yield out;
          break;
        }
        throw failure; // nothing could continue it: the client hears about the original break
      }
      tried.add(current.route.key);
      message.continueWith();
    }
  } finally {
    // The consumer stopped at a yield (client gone): end the upstream call, free the quota.
    if (!settled) {
      current.value.abort(new Error('the client stopped reading'));
      settle();
    }
    outcome.usage = usage();
    outcome.text = message.receivedText();
  }
}

// ---------------------------------------------------------------------------------------
// SSE framing

/** An `error` event's body: Anthropic's shape, its type as close to the cause as the SDKs know. */
export function messagesStreamError(err: unknown): { type: 'error'; error: { type: string; message: string; details: { error_code: string } } } {
  // The request's deadline passed while streaming: said as the 504 before the first byte says it.
  if (err instanceof DeadlinePassed) return { type: 'error', error: { type: 'timeout_error', message: err.message, details: { error_code: 'deadline_exceeded' } } };
  const e = isProviderError(err) ? err : undefined;
  const message = brokenStreamMessage(err);
  let type = 'api_error';
  if (e?.failure === 'throttled' || e?.failure === 'quota_exhausted') type = 'rate_limit_error';
  else if (e?.failure === 'silent') type = 'timeout_error';
  else if (e?.code === 'overloaded_error' || e?.status === 529 || e?.status === 503) type = 'overloaded_error';
  return { type: 'error', error: { type, message, details: { error_code: STREAM_INTERRUPTED } } };
}

/** Anthropic's SSE: `event: <type>` and the event's JSON (the upstream's own text where unchanged); no terminator. */
export const MESSAGES_FRAMING: SseFraming<MessagesEvent> = {
  event: (ev) => `event: ${ev.type}\ndata: ${ev.raw ?? JSON.stringify(ev.data)}\n\n`,
  done: '',
  error: (err) => `event: error\ndata: ${JSON.stringify(messagesStreamError(err))}\n\n`,
};
