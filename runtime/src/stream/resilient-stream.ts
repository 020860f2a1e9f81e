/**
 * The client's stream, kept whole across upstream failures. Chunks pass through with
 * one id; a stall (no chunk within the idle timeout) or a break after the first byte is
 * continued from another route: with assistant prefill where the target takes it, else
 * with a continuation request whose overlap with what was sent is removed. Only when
 * nothing can continue does the stream end with an error. Usage always comes last.
 */
import type { ChatRequest } from '../core/chat-request';
import { maxOutputTokens } from '../core/chat-request';
import { usageOf, type ChatCompletionChunk, type Usage } from '../core/openai-types';
import { withoutRaw } from '../core/raw-chunk';
import { isProviderError, ProviderError } from '../providers/errors';
import type { Notes, Route, UpstreamMeta } from '../providers/types';
import { estimatePromptTokens, estimateTokens, tokensForChars } from '../quota/token-estimate';
import type { Answered } from '../routing/executor';
import type { Cancellation } from '../core/cancellation';
import { IdleWatchdog } from './idle-watchdog';
import { OverlapTrimmer } from './overlap';
import type { StartedStream } from './started-stream';

export const CONTINUE_PROMPT = 'Continue exactly where your previous message stopped. Do not repeat anything and do not add any preamble.';

/** How many times one answer may be continued before the gateway gives up. */
export const MAX_CONTINUATIONS = 2;

export interface ContinuationDeps {
  /** The request as validated, for continuation requests (the proxy validates it only then). */
  request(): ChatRequest;
  /** The request's cancellation: client gone or deadline passed. */
  cancel: Cancellation;
  /** Runs the failover loop again for a continuation request, skipping `exclude`. */
  continueOn(build: (route: Route) => ChatRequest[], exclude: ReadonlySet<string>): Promise<Answered<StartedStream & Notes>>;
  /** A stream attempt failed after its start: let health and quota learn from it. */
  onStreamFailure(route: Route, err: ProviderError): void;
  idleMs: number;
  /** Whether the target continues a trailing assistant message itself. */
  supportsPrefill(route: Route): boolean;
  /** The request's prompt estimate: a segment's usage when its upstream reported none. */
  promptTokens?: number;
}

/** One upstream answer that made up (part of) the stream, and what it used. */
export interface StreamSegment {
  route: Route;
  meta: UpstreamMeta;
  /** As the upstream reported it; estimated from the text and prompt when it broke first. */
  usage: Usage;
}

export interface StreamOutcome {
  /** The route that finished the answer. */
  route?: Route;
  continuations: number;
  /** The usage reported to the client (set when the stream ends). */
  usage?: Usage;
  /** The answer text the client received (set when the stream ends). */
  text?: string;
  /** When given, filled with every upstream answer of the stream in order (what it cost), before the usage chunk. */
  segments?: StreamSegment[];
  /** What the gateway left out for the targets of the stream's answers (their adapters' notes). */
  notes?: string[];
}

export async function* resilientStream(first: Answered<StartedStream & Notes>, deps: ContinuationDeps, outcome: StreamOutcome = { continuations: 0 }): AsyncGenerator<ChatCompletionChunk> {
  let current = first;
  const id = first.value.first.id;
  const created = first.value.first.created;
  let sent = '';
  let toolCallsSeen = false;
  let finished = false;
  let roleSent = false;
  let upstreamUsage: Usage | undefined;
  let trimmer: OverlapTrimmer | undefined;
  const tried = new Set<string>([first.route.key]);
  let lastChunk: ChatCompletionChunk = first.value.first;

  /** Where the current upstream answer's text began, and the usage it reported. */
  let segmentStart = 0;
  let segmentUsage: Usage | undefined;

  const emit = (chunk: ChatCompletionChunk): ChatCompletionChunk | undefined => {
    // Every chunk the client gets carries the first one's id and time; any change here
    // means the upstream's own text of the chunk no longer fits it.
    let changed = chunk.id !== id || chunk.created !== created;
    chunk.id = id;
    chunk.created = created;
    lastChunk = chunk;
    const choice = chunk.choices[0];
    if (!choice) {
      if (chunk.usage) upstreamUsage = segmentUsage = chunk.usage;
      return undefined; // usage is sent once, at the very end
    }
    const delta = choice.delta;
    if (delta.role) {
      if (roleSent) {
        delete delta.role;
        changed = true;
      }
      roleSent = true;
    }
    if (delta.tool_calls?.length) toolCallsSeen = true;
    if (typeof delta.content === 'string' && delta.content.length > 0) {
      if (trimmer) {
        delta.content = trimmer.push(delta.content);
        changed = true;
      }
      sent += delta.content;
      if (delta.content.length === 0 && !choice.finish_reason && !delta.tool_calls) return undefined;
    } else if (delta.content === '' && roleSent && !delta.role && !choice.finish_reason && !delta.tool_calls) {
      return undefined;
    }
    if (choice.finish_reason) {
      if (trimmer) {
        const rest = trimmer.flush();
        if (rest) {
          sent += rest;
          delta.content = (delta.content ?? '') + rest;
          changed = true;
        }
      }
      finished = true;
    }
    if (changed) withoutRaw(chunk);
    return chunk;
  };

  let settled = false;
  const settle = (tokens: number) => {
    settled = true;
    current.settle(tokens);
    outcome.segments?.push({ route: current.route, meta: current.value, usage: segmentUsage ?? segmentEstimate() });
  };
  // A continuation's prompt holds what was sent before it (and the request to go on).
  const segmentEstimate = () => usageOf((deps.promptTokens ?? 0) + (segmentStart > 0 ? tokensForChars(segmentStart + CONTINUE_PROMPT.length) : 0), estimateTokens(sent.slice(segmentStart)));
  try {
    for (;;) {
      const started = current.value;
      if (started.notes) (outcome.notes ??= []).push(...started.notes);
      settled = false;
      segmentStart = sent.length;
      segmentUsage = undefined;
      let failure: ProviderError | undefined;
      const idle = new IdleWatchdog(started, deps.idleMs);
      try {
        const firstOut = emit(started.first);
        if (firstOut) yield firstOut;
        for (;;) {
          const next = await idle.next();
          if (next.done) break;
          const out = emit(next.value);
          if (out) yield out;
        }
      } catch (err) {
        // The client left or the deadline passed: not the route's fault, nothing to continue.
        if (deps.cancel.aborted) {
          started.abort(err);
          settle(estimateTokens(sent));
          throw deps.cancel.reason ?? err;
        }
        failure = isProviderError(err) ? err : new ProviderError('transient', (err as Error)?.message ?? String(err), { cause: err });
      } finally {
        idle.stop();
      }

      if (!failure) {
        // A continuation that ended without a finish reason still owes what it held back.
        const rest = trimmer?.flush();
        if (rest) {
          sent += rest;
          yield { id, object: 'chat.completion.chunk', created, model: lastChunk.model, choices: [{ index: 0, delta: { content: rest }, finish_reason: null }] };
        }
        settle(upstreamUsage?.total_tokens ?? estimateTokens(sent));
        outcome.route = current.route;
        break;
      }
      started.abort(failure);
      settle(estimateTokens(sent));
      deps.onStreamFailure(current.route, failure);
      // A whole answer whose terminator was lost is complete: finish it.
      if (finished) {
        outcome.route = current.route;
        break;
      }
      // Half a JSON answer cannot be continued by another model call (it would start the value anew).
      const json = sent.length > 0 && answersJson(deps.request());
      if (toolCallsSeen || json || outcome.continuations >= MAX_CONTINUATIONS || !failure.retryable) throw failure;

      try {
        const req = deps.request();
        current = await deps.continueOn((route) => continuationRequests(req, sent, deps.supportsPrefill(route)), tried);
        outcome.continuations++; // counted once a route took it on: a try that found none continued nothing
      } catch (err) {
        // The deadline passed (or the client left) meanwhile: that is what ended the answer.
        if (deps.cancel.aborted) throw deps.cancel.reason ?? err;
        throw failure; // nothing could continue it: the client hears about the original break
      }
      tried.add(current.route.key);
      trimmer = sent.length > 0 ? new OverlapTrimmer(sent) : undefined;
    }
  } finally {
    // The consumer stopped at a yield (client gone): end the upstream call, free the quota.
    if (!settled) {
      current.value.abort(new Error('the client stopped reading'));
      settle(estimateTokens(sent));
    }
  }

  const usage = outcome.continuations === 0 && upstreamUsage ? upstreamUsage : usageOf(estimatePromptTokens(deps.request()), estimateTokens(sent) || upstreamUsage?.completion_tokens || 0);
  outcome.usage = usage;
  outcome.text = sent;
  yield { id, object: 'chat.completion.chunk', created, model: lastChunk.model, choices: [], usage };
}

function answersJson(req: ChatRequest): boolean {
  const type = req.response_format?.type;
  return type === 'json_object' || type === 'json_schema';
}

/**
 * The requests to continue an answer, best first: prefill (the model continues the
 * trailing assistant turn), then an explicit continuation request.
 */
export function continuationRequests(req: ChatRequest, sent: string, prefill: boolean): ChatRequest[] {
  if (sent.length === 0) return [req];
  const max = maxOutputTokens(req);
  const left = max === undefined ? undefined : Math.max(1, max - estimateTokens(sent));
  const base: ChatRequest = { ...req, ...(left === undefined ? {} : req.max_completion_tokens ? { max_completion_tokens: left } : { max_tokens: left }) };
  const assistant = { role: 'assistant' as const, content: sent };
  const explicit: ChatRequest = { ...base, messages: [...req.messages, assistant, { role: 'user', content: CONTINUE_PROMPT }] };
  return prefill ? [{ ...base, messages: [...req.messages, assistant] }, explicit] : [explicit];
}
