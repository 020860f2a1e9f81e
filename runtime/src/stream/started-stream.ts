/**
 * A stream counts as started when its first chunk has arrived: until then failover is
 * invisible to the client. The attempt's abort lets the idle watchdog end a stalled
 * upstream without touching the client's request.
 */
import type { ChatCompletionChunk } from '../core/openai-types';
import type { StreamResult, UpstreamMeta } from '../providers/types';
import { ProviderError } from '../providers/errors';

export interface StartedStream extends UpstreamMeta {
  readonly first: ChatCompletionChunk;
  readonly rest: AsyncIterator<ChatCompletionChunk>;
  /** Ends this upstream call (stall, client gone). */
  abort(reason: unknown): void;
}

/** `opened` is an adapter's stream call with the attempt's own cancellation, and `abort` aborts it (see AttemptFn). */
export async function startStream(opened: Promise<StreamResult>, abort: (reason: unknown) => void): Promise<StartedStream> {
  const { chunks, ...meta }: StreamResult = await opened;
  const rest = chunks[Symbol.asyncIterator]();
  try {
    const first = await rest.next();
    if (first.done) throw new ProviderError('transient', 'the upstream stream ended before its first chunk');
    return { ...meta, first: first.value, rest, abort };
  } catch (err) {
    // The adapters' generators close their upstream call when they end; the attempt's
    // signal stays usable, for the next request tried on this route (prefill refused).
    await rest.return?.().catch(() => undefined);
    throw err;
  }
}
