/**
 * Lambda response streaming through hono/aws-lambda, with the one thing it leaves out: when
 * the response stream fails (the caller gone), it stops reading the answer but never cancels
 * it, so the request stayed open (its concurrency, quota hold, log line and EMF) after the
 * handler settled and the environment froze. A streamed answer is read here through a reader
 * that is cancelled once the invocation's handler has settled (a no-op after a whole answer).
 */
import type { Hono } from 'hono';
import { streamHandle } from 'hono/aws-lambda';

type StreamingHandler = (event: unknown, responseStream: unknown, context: object) => Promise<void>;

/** The reader of each invocation's streamed answer, by its Lambda context. */
const readers = new WeakMap<object, ReadableStreamDefaultReader<Uint8Array>>();

/** `res`, its SSE body read through a reader cancelled when the invocation of `context` ends. */
export function cancelledWithInvocation(res: Response, context: object | undefined): Response {
  if (!context || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) return res;
  const reader = res.body.getReader();
  readers.set(context, reader);
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** hono's streaming handler, then the invocation's answer cancelled if it was left unread. */
export function settlingStreamHandle(app: Hono, streamifyResponse: (handler: StreamingHandler) => unknown): unknown {
  // The runtime's streamifyResponse marks the handler and returns it: hono's is a function to call.
  const hono = streamHandle(app) as unknown as StreamingHandler;
  return streamifyResponse(async (event, responseStream, context) => {
    try {
      await hono(event, responseStream, context);
    } finally {
      const reader = readers.get(context);
      readers.delete(context);
      await reader?.cancel(new Error('The response stream closed before the answer ended.')).catch(() => undefined);
    }
  });
}
