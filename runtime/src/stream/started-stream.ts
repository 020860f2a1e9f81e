/**
 * A stream counts as started when its first chunk has arrived: until then failover is
 * invisible to the client. The per-stream abort lets the idle watchdog end a stalled
 * upstream without touching the client's request.
 */
import type { ChatCompletionChunk } from '../api/openai-types';
import type { CallOptions, ProviderAdapter, Route, StreamResult, UpstreamMeta } from '../providers/types';
import type { ChatRequest } from '../api/chat-request';
import { ProviderError } from '../providers/errors';
import { followAbort } from '../routing/signals';

export interface StartedStream extends UpstreamMeta {
  readonly first: ChatCompletionChunk;
  readonly rest: AsyncIterator<ChatCompletionChunk>;
  /** Ends this upstream call (stall, client gone). */
  abort(reason: unknown): void;
}

export async function startStream(adapter: ProviderAdapter, route: Route, req: ChatRequest, opts: CallOptions): Promise<StartedStream> {
  const own = new AbortController();
  followAbort(opts.signal, own);
  const signal = own.signal;
  const { chunks, ...meta }: StreamResult = await adapter.stream(route, req, { ...opts, signal });
  const rest = chunks[Symbol.asyncIterator]();
  try {
    const first = await rest.next();
    if (first.done) throw new ProviderError('transient', 'the upstream stream ended before its first chunk');
    return { ...meta, first: first.value, rest, abort: (reason) => own.abort(reason) };
  } catch (err) {
    own.abort(err);
    await rest.return?.().catch(() => undefined);
    throw err;
  }
}
