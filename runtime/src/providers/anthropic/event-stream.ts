/**
 * An Anthropic SSE body (the Anthropic API's, or a spoke gateway's) as Messages events,
 * each with the upstream's own JSON text. An `error` event is thrown, classified; a data
 * line that is not JSON is dropped, never passed on; a body that ends before the stop
 * reason is an incomplete answer (a break), one that ends after it is whole. A spoke's
 * reported cost (`usage.cost_usd` of its final message_delta) is taken out when asked for.
 */
import type { MessagesEvent } from '../messages-types';
import { sseUntil, type SseEvent } from '../sse-read';
import { classifyNetworkError, ProviderError } from '../errors';
import { takeUsageCost } from '../gateway-hop-meta';
import type { UpstreamResponse } from '../http';
import type { ReportedCost, Route, UpstreamSignal } from '../types';
import { withoutCredentials } from '../upstream-call';
import { classifyAnthropicStreamError } from './classify';

/** Whether an event carries the answer's stop reason (`message_delta` with `delta.stop_reason`). */
export function stopReasonOf(ev: MessagesEvent): string | undefined {
  if (ev.type !== 'message_delta') return undefined;
  const reason = (ev.data.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
  return typeof reason === 'string' ? reason : undefined;
}

/**
 * The events of one message, read from `events` (a parsed SSE body or Bedrock's chunks); `what`
 * names the upstream in errors. With `cost` (a spoke asked to report it), the cost in a
 * message_delta's usage goes there and not on to the client.
 */
export async function* messageEvents(events: AsyncIterable<{ data: string; event?: string }>, what: string, cost?: ReportedCost): AsyncGenerator<MessagesEvent> {
  let stopped = false;
  let stopReason = false;
  for await (const ev of events) {
    if (stopped) continue; // read to the end, so the connection can be reused
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      continue;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) continue;
    const d = data as Record<string, unknown>;
    const type = typeof d.type === 'string' ? d.type : ev.event;
    if (!type) continue;
    if (type === 'error') throw classifyAnthropicStreamError(d.error);
    // Without the cost the upstream's text is stale: the event goes on re-encoded.
    const out: MessagesEvent = cost && type === 'message_delta' && tookCost(d, cost) ? { type, data: d } : { type, data: d, raw: ev.data };
    if (stopReasonOf(out) !== undefined) stopReason = true;
    if (type === 'message_stop') stopped = true;
    yield out;
  }
  if (!stopped && !stopReason) {
    throw new ProviderError('transient', `${what}: the message stream ended before its stop reason: the answer is incomplete`, { code: 'incomplete_stream' });
  }
}

/** An SSE answer's events; the socket is dropped unless the body was read to its end. */
export async function* sseMessageEvents(res: UpstreamResponse, route: Route, signal: UpstreamSignal, key: string | undefined, cost?: ReportedCost): AsyncGenerator<MessagesEvent> {
  let drained = false;
  let whole = false;
  try {
    for await (const ev of messageEvents(
      tracked(sseUntil(res.body, isMessageStop), () => (drained = true)),
      route.key,
      cost,
    )) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      if (ev.type === 'message_stop') whole = true;
      yield ev;
    }
  } catch (err) {
    if (err instanceof ProviderError) throw withoutCredentials(err, key);
    if (signal.aborted) throw signal.reason ?? err;
    // A break after the whole answer loses nothing.
    if (!whole) throw classifyNetworkError(err, `${route.key}: message stream broke`);
  } finally {
    if (!drained) res.body.destroy();
  }
}

/** The last event of an Anthropic message stream (the Anthropic API's and a spoke's name it). */
export const isMessageStop = (e: SseEvent) => e.event === 'message_stop';

/** `events`, calling `onEnd` when they ran to their end. */
async function* tracked<T>(events: AsyncIterable<T>, onEnd: () => void): AsyncGenerator<T> {
  yield* events;
  onEnd();
}

function tookCost(data: Record<string, unknown>, cost: ReportedCost): boolean {
  const usage = data.usage;
  return typeof usage === 'object' && usage !== null && takeUsageCost(usage as Record<string, unknown>, cost);
}
