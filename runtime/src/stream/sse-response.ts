/**
 * Turns an adapter's chunk stream into the client's SSE body. Pull-based: the next
 * upstream chunk is read only when the client has taken the last one (backpressure),
 * and a client that goes away cancels the upstream call.
 */
import type { ChatCompletionChunk } from '../api/openai-types';
import type { OpenAIErrorBody } from '../api/errors';
import { isProviderError } from '../providers/errors';
import { SSE_DONE, sseData } from './sse-write';

export interface SseBodyOptions {
  /** Pass the final usage chunk on (the client set `stream_options.include_usage`). */
  includeUsage: boolean;
  /** Called once when the client goes away before the end. */
  onCancel: (reason: unknown) => void;
  /** Called once when the stream ends, with the error that ended it if any. */
  onEnd?: (err?: unknown) => void;
}

export function streamErrorEvent(err: unknown): OpenAIErrorBody {
  const message = isProviderError(err)
    ? `The upstream stream failed (${err.failure}): ${err.message}`
    : `The stream failed: ${(err as Error)?.message ?? String(err)}`;
  return { error: { message, type: 'api_error', code: 'stream_interrupted', param: null } };
}

export function sseBody(chunks: AsyncIterable<ChatCompletionChunk>, opts: SseBodyOptions): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  let ended = false;
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    opts.onEnd?.(err);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { value, done } = await it.next();
            if (done) {
              controller.enqueue(SSE_DONE);
              controller.close();
              end();
              return;
            }
            if (value.choices.length === 0 && !opts.includeUsage) continue;
            controller.enqueue(sseData(value));
            return;
          }
        } catch (err) {
          if (ended) return;
          controller.enqueue(sseData(streamErrorEvent(err)));
          controller.close();
          end(err);
        }
      },
      async cancel(reason) {
        if (ended) return;
        ended = true;
        opts.onCancel(reason);
        await it.return?.();
        opts.onEnd?.(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
