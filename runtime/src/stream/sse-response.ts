/**
 * Turns an adapter's chunk stream into the client's SSE answer. Pull-based: the next
 * upstream chunk is read only when the client has taken the last one (backpressure),
 * and a client that goes away cancels the upstream call. Two sinks share the framing: a
 * web ReadableStream (Lambda, tests) and, on the Node server, the ServerResponse itself
 * (no web stream in between: fewer objects per open stream, and the first event goes
 * out with the headers, at once).
 */
import type { ServerResponse } from 'node:http';
import type { ChatCompletionChunk } from '../core/openai-types';
import type { OpenAIErrorBody } from '../core/gateway-error';
import { isProviderError } from '../providers/errors';
import { SSE_DONE, SSE_DONE_TEXT, sseData, sseEventText } from './sse-write';

const encoder = new TextEncoder();

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

/** What goes to the client for one chunk; nothing for a usage chunk it did not ask for. */
function frame(chunk: ChatCompletionChunk, includeUsage: boolean): string | undefined {
  if (chunk.choices.length === 0 && !includeUsage) return undefined;
  return sseEventText(chunk);
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
            const text = frame(value, opts.includeUsage);
            if (text === undefined) continue;
            controller.enqueue(encoder.encode(text));
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

/**
 * The same answer written to Node's ServerResponse: one write per event (the first with
 * the headers), waiting for 'drain' when the client reads slowly; the response's 'close'
 * before the end is the client leaving.
 */
export function writeSse(
  res: ServerResponse,
  headers: Record<string, string>,
  chunks: AsyncIterable<ChatCompletionChunk>,
  opts: SseBodyOptions,
): void {
  const it = chunks[Symbol.asyncIterator]();
  let ended = false;
  let resumeAfterDrain: (() => void) | undefined;
  const finish = (err?: unknown) => {
    if (ended) return;
    ended = true;
    opts.onEnd?.(err);
  };
  res.once('close', () => {
    resumeAfterDrain?.();
    if (ended || res.writableFinished) return;
    ended = true;
    const reason = new Error('Client connection prematurely closed.');
    opts.onCancel(reason);
    void Promise.resolve(it.return?.()).finally(() => opts.onEnd?.(reason));
  });
  // The headers leave with the first event (which the stream has already: it started).
  res.writeHead(200, headers);
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await it.next();
        if (ended) return;
        if (done) {
          res.end(SSE_DONE_TEXT);
          return finish();
        }
        const text = frame(value, opts.includeUsage);
        if (text !== undefined && !res.write(text)) {
          await new Promise<void>((resolve) => {
            resumeAfterDrain = resolve;
            res.once('drain', resolve);
          });
          resumeAfterDrain = undefined;
        }
      }
    } catch (err) {
      if (ended) return;
      res.end(sseData(streamErrorEvent(err)));
      finish(err);
    }
  })();
}
