/**
 * A stream counts as started when its first chunk has arrived: until then failover is
 * invisible to the client. The attempt's abort lets the idle watchdog end a stalled
 * upstream without touching the client's request.
 */
import type { ChatCompletionChunk } from '../core/openai-types';
import type { UpstreamMeta } from '../providers/types';
import { ProviderError } from '../providers/errors';

/** A started stream of chat chunks, or of another API's events (`T`). */
export interface StartedStream<T = ChatCompletionChunk> extends UpstreamMeta {
  readonly first: T;
  readonly rest: AsyncIterator<T>;
  /** Ends this upstream call (stall, client gone). */
  abort(reason: unknown): void;
}

/** An adapter's answer to a stream call: its items, and what it says of the upstream. */
type Opened = UpstreamMeta & { chunks: AsyncIterable<unknown> };

/** The started stream of such an answer (its items' type, and the rest of what it said). */
type Started<M extends Opened> = StartedStream<M['chunks'] extends AsyncIterable<infer T> ? T : never> & Omit<M, 'chunks'>;

/** `opened` is an adapter's stream call with the attempt's own cancellation, and `abort` aborts it (see AttemptFn). */
export async function startStream<M extends Opened>(opened: Promise<M>, abort: (reason: unknown) => void): Promise<Started<M>> {
  const answer = await opened;
  const rest = answer.chunks[Symbol.asyncIterator]();
  try {
    const first = await rest.next();
    if (first.done) throw new ProviderError('transient', 'the upstream stream ended before its first chunk');
    // The adapter's answer becomes the started stream: copying what it said (object rest and
    // spread) cost more than anything else between the first chunk and the client's.
    // The items are M's (the iterator came from M's chunks); TypeScript cannot follow that through infer.
    return Object.assign(answer, { first: first.value, rest, abort }) as unknown as Started<M>;
  } catch (err) {
    // The adapters' generators close their upstream call when they end; the attempt's
    // signal stays usable, for the next request tried on this route (prefill refused).
    await rest.return?.().catch(() => undefined);
    throw err;
  }
}

/** Tries `requests` in order on one route; a refusal of one (a prefill the target does not take) falls to the next. */
export async function startFirstAccepted<R, M extends Opened>(requests: readonly R[], open: (request: R) => Promise<M>, abort: (reason: unknown) => void): Promise<Started<M>> {
  for (let i = 0; ; i++) {
    try {
      return await startStream(open(requests[i]), abort);
    } catch (err) {
      if (i + 1 < requests.length && err instanceof ProviderError && err.failure === 'refused') continue;
      throw err;
    }
  }
}
