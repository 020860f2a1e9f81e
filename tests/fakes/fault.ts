/**
 * The fault vocabulary every fake provider understands, so chaos tests read the same
 * whatever the wire protocol. A fake takes faults from its queue, one per request, and
 * serves normally when the queue is empty (or uses `always` when set).
 */
export type Fault =
  /** Answer with this status; the fake writes its provider's own error body for it. */
  | { kind: 'status'; status: number; code?: string; message?: string; headers?: Record<string, string> }
  /** Destroy the socket before any byte of the response. */
  | { kind: 'reset' }
  /** Accept the request and never answer (until the client gives up). */
  | { kind: 'hang' }
  /** Stream: send N content chunks, then destroy the socket. */
  | { kind: 'cut'; afterChunks: number }
  /** Stream: send N content chunks, then send nothing more (socket left open). */
  | { kind: 'stall'; afterChunks: number }
  /** Stream: send N content chunks, then one malformed chunk, then continue normally. */
  | { kind: 'malformed'; afterChunks: number }
  /** Stream: a whole answer but the final terminator (OpenAI `[DONE]`, Anthropic `message_stop`) is missing, socket closed. */
  | { kind: 'no-terminator' }
  /** Stream: N chunks, then an in-stream error event of the provider's kind (e.g. overloaded). */
  | { kind: 'stream-error'; afterChunks: number; code?: string; message?: string }
  /** Wait this long before the response headers. */
  | { kind: 'delay'; ms: number }
  /** Answer 200 with a body that is not valid JSON / not the protocol. */
  | { kind: 'garbage' }
  /** Answer 200 with the wrong content type (HTML page from a proxy in between). */
  | { kind: 'wrong-content-type' };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface FakeServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT` (OpenAI-style fakes append `/v1` themselves where noted). */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Faults for the next requests, in order. */
  readonly faults: Fault[];
  /** A fault applied to every request while set (after the queue is empty). */
  always?: Fault;
  /** Connections currently open (for asserting that client disconnects abort upstream). */
  openConnections(): number;
  close(): Promise<void>;
}
