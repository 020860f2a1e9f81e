/** Reads a Server-Sent Events body into events; comments (keep-alives) are not events. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { UpstreamBody } from './http';

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
  // A decoder (it keeps a character split across chunks) only once a chunk needs one: events end
  // in a newline, so chunks nearly always end on a whole character, and making one per stream showed.
  let decoder: TextDecoder | undefined;
  let first = true;
  for await (const part of body) {
    if (typeof part === 'string') parser.feed(part);
    else if (decoder || (first && startsWithBom(part)) || part[part.length - 1] >= 0x80) parser.feed((decoder ??= new TextDecoder()).decode(part, { stream: true }));
    else parser.feed(Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('utf8'));
    first = false;
    if (failure) throw failure;
    while (pending.length > 0) yield pending.shift()!;
  }
  if (decoder) parser.feed(decoder.decode());
  // A final event without its blank line still counts: the blank line is added (a stream
  // that ended properly gets an empty event, which dispatches nothing).
  parser.feed('\n\n');
  while (pending.length > 0) yield pending.shift()!;
}

/** A byte order mark, which the decoder drops as the SSE spec wants. */
function startsWithBom(part: Uint8Array): boolean {
  return part[0] === 0xef && part[1] === 0xbb && part[2] === 0xbf;
}

/** How long the rest of a body after its answer's last event may take before its connection is closed instead. */
const REST_OF_BODY_MS = 5_000;

/**
 * The events of `body` up to the one `isLast` picks: the answer ends there, not when the
 * server ends the body (it may work on first, holding back the client's last event). The
 * rest (normally only the body's end) is read apart, so the connection can be reused.
 */
export async function* sseUntil(body: UpstreamBody, isLast: (e: SseEvent) => boolean): AsyncGenerator<SseEvent> {
  const events = readSse(body);
  for (let next = await events.next(); !next.done; next = await events.next()) {
    if (isLast(next.value)) {
      readRest(events, body);
      yield next.value;
      return;
    }
    yield next.value;
  }
}

function readRest(events: AsyncIterator<SseEvent>, body: UpstreamBody): void {
  const timer = setTimeout(() => body.destroy(), REST_OF_BODY_MS).unref();
  const drain = async () => {
    try {
      while (!(await events.next()).done);
    } catch {
      // The answer was whole: what broke after it does not matter.
    } finally {
      clearTimeout(timer);
    }
  };
  void drain();
}
