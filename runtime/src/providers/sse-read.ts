/** Reads a Server-Sent Events body into events; comments (keep-alives) are not events. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export type SseEvent = EventSourceMessage;

/** The largest SSE event we buffer; an upstream that never ends a line is garbage. */
const MAX_EVENT_BYTES = 4 * 1024 * 1024;

export async function* readSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const pending: SseEvent[] = [];
  let failure: Error | undefined;
  const parser = createParser({
    onEvent: (e) => pending.push(e),
    // The SSE spec ignores unknown fields and bad retry lines; only an endless line is fatal.
    onError: (e) => {
      if (e.type === 'max-buffer-size-exceeded') failure = e;
    },
    maxBufferSize: MAX_EVENT_BYTES,
  });
  const decoder = new TextDecoder();
  for await (const part of body) {
    parser.feed(typeof part === 'string' ? part : decoder.decode(part, { stream: true }));
    if (failure) throw failure;
    while (pending.length > 0) yield pending.shift()!;
  }
  parser.feed(decoder.decode());
  // A final event without its blank line still counts; the parser flushes it on reset.
  parser.reset({ consume: true });
  while (pending.length > 0) yield pending.shift()!;
}
