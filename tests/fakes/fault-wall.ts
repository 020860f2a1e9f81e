/**
 * A fault wall: one fake OpenAI-compatible provider that breaks on purpose, picking its
 * fault by the model name, as the public failover catalogue describes its scenarios
 * (S01-S16: 429s, 5xx, resets, silence, slow first tokens, cut, stalled and malformed
 * streams, missing [DONE], context length, content filter, prefill refusals, a flapping
 * primary). `fb-ok` always answers. Every healthy answer is the same canonical text, so
 * completeness is an exact comparison.
 *
 * Raw TCP (node:net) on purpose: an HTTP framework cannot reset a connection before the
 * headers, keep a socket silent, or end a chunked body without its last chunk, and those
 * are the faults. It logs every chat request it sees (model, attempt number, time,
 * connection), which is what the catalogue's checks count.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** Sixty words; the one answer every healthy completion gives. */
export const CANONICAL_ANSWER =
  'A gateway is trusted only when the provider behind it fails. On calm days any proxy looks fine, but a throttled account, a stalled stream or a silent region shows what it really does: ' +
  'whether the caller still gets the whole answer from the model it asked for, quickly, with honest usage, or a clean error it can act on.';

/** The wall's timings; the catalogue's full profile, which tests scale down (`scaledTimings`). */
export interface WallTimings {
  /** Retry-After of S01, in whole seconds (the header has no finer unit). */
  retryAfterS: number;
  slowTtftMs: number;
  stallMs: number;
  noResponseMs: number;
  flapDownMs: number;
  tokenIntervalMs: number;
  cutAfterTokens: number;
  stallAfterTokens: number;
  malformedAtToken: number;
}

export const FULL_TIMINGS: WallTimings = {
  retryAfterS: 2,
  slowTtftMs: 20_000,
  stallMs: 30_000,
  noResponseMs: 120_000,
  flapDownMs: 60_000,
  tokenIntervalMs: 15,
  cutAfterTokens: 40,
  stallAfterTokens: 20,
  malformedAtToken: 10,
};

/** The full profile with every duration but Retry-After multiplied by `factor`. */
export function scaledTimings(factor: number): WallTimings {
  const t = FULL_TIMINGS;
  return {
    ...t,
    slowTtftMs: t.slowTtftMs * factor,
    stallMs: t.stallMs * factor,
    noResponseMs: t.noResponseMs * factor,
    flapDownMs: t.flapDownMs * factor,
    tokenIntervalMs: t.tokenIntervalMs * factor,
  };
}

type Behaviour =
  | 'ok'
  | 'ok-noprefill'
  | '429-retry-after-once'
  | '429-persistent'
  | '500-once'
  | '503-persistent'
  | 'reset-once'
  | 'no-response'
  | 'slow-ttft'
  | 'stream-cut'
  | 'stream-stall'
  | 'malformed-chunk'
  | 'no-done'
  | 'context-length'
  | 'content-filter'
  | 'flap';

const SCENARIOS: Record<string, Behaviour> = {
  s01: '429-retry-after-once',
  s02: '429-persistent',
  s03: '500-once',
  s04: '503-persistent',
  s05: 'reset-once',
  s06: 'no-response',
  s07: 'slow-ttft',
  s08: 'stream-cut',
  s09: 'stream-stall',
  s10: 'malformed-chunk',
  s11: 'no-done',
  s12: 'context-length',
  s13: 'content-filter',
  s14: 'stream-cut',
  s15: 'flap',
  s16: '503-persistent',
};

/** `fb-ok`, `fb-ok-noprefill`, `fb-sNN-...` (after any `provider/` prefix). */
export function behaviourOf(model: string): Behaviour | undefined {
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  if (name === 'fb-ok') return 'ok';
  if (name === 'fb-ok-noprefill') return 'ok-noprefill';
  const m = /^fb-(s\d\d)(?:-|$)/.exec(name);
  return m ? SCENARIOS[m[1]] : undefined;
}

export interface WallEntry {
  /** Milliseconds since the last reset. */
  t: number;
  model: string;
  /** This model's attempt number since the last reset, from 1. */
  attempt: number;
  stream: boolean;
  lastRole?: string;
  /** Which TCP connection carried it (numbered from 1 since start). */
  connection: number;
  action: string;
}

export interface FaultWall {
  /** Base URL for an OpenAI-style client: `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  readonly timings: WallTimings;
  readonly log: WallEntry[];
  /** Forgets the log and the attempt counts; restarts the flap clock. */
  reset(): void;
  /** Chat attempts on `model` since the last reset. */
  attempts(model: string): WallEntry[];
  close(): Promise<void>;
}

/** What one healthy (or stream-shaped faulty) answer is made of. */
interface AnswerPlan {
  socket: Socket;
  entry: WallEntry;
  behaviour: Behaviour;
  model: string;
  id: string;
  words: string[];
  /** Prefill: the words continue an assistant turn (a leading space). */
  continuation: boolean;
  promptTokens: number;
  includeUsage: boolean;
}

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };
const WORDS = CANONICAL_ANSWER.split(' ');

export async function startFaultWall(timings: WallTimings = FULL_TIMINGS): Promise<FaultWall> {
  const log: WallEntry[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let t0 = Date.now();
  let connections = 0;
  let seq = 0;

  const sleep = (ms: number, socket: Socket) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        socket.off('close', done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve();
      };
      timers.add(timer);
      socket.once('close', done);
    });

  const head = (status: number, headers: Record<string, string>) =>
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'OK'}\r\n${Object.entries({ connection: 'keep-alive', ...headers })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`;

  function sendJson(socket: Socket, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    socket.write(head(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...extra }) + text);
  }

  function sendError(socket: Socket, status: number, message: string, type: string, code: string | null, extra: Record<string, string> = {}, param: string | null = null): void {
    sendJson(socket, status, { error: { message, type, param, code } }, extra);
  }

  async function chat(req: Request, socket: Socket, connection: number): Promise<boolean> {
    let body: { model?: string; stream?: boolean; messages?: Array<{ role?: string; content?: unknown }>; stream_options?: { include_usage?: boolean } };
    try {
      body = JSON.parse(req.body) as typeof body;
    } catch {
      sendError(socket, 400, 'Request body is not valid JSON', 'invalid_request_error', null);
      return true;
    }
    const model = String(body.model ?? '');
    const behaviour = behaviourOf(model);
    const stream = body.stream === true;
    const messages = body.messages ?? [];
    const last = messages.at(-1);
    const attempt = (counts.get(model) ?? 0) + 1;
    counts.set(model, attempt);
    seq++;
    const entry: WallEntry = { t: Date.now() - t0, model, attempt, stream, lastRole: last?.role, connection, action: '' };
    log.push(entry);
    if (!behaviour) {
      entry.action = '404 model_not_found';
      sendError(socket, 404, `The model \`${model}\` does not exist`, 'invalid_request_error', 'model_not_found', {}, 'model');
      return true;
    }

    // Prefill: a trailing assistant turn that starts the canonical answer gets the rest.
    let words = WORDS;
    let continuation = false;
    if (last?.role === 'assistant') {
      if (behaviour === 'ok-noprefill') {
        entry.action = '400 prefill rejected';
        const message = 'This model does not support assistant message prefill. The conversation must end with a user message.';
        sendError(socket, 400, message, 'invalid_request_error', 'invalid_prefill', {}, 'messages');
        return true;
      }
      const partial = typeof last.content === 'string' ? last.content.trim() : '';
      if (partial && CANONICAL_ANSWER.startsWith(partial)) {
        words = CANONICAL_ANSWER.slice(partial.length).trim().split(' ');
        continuation = true;
      }
    }
    const promptTokens = messages.reduce((n, m) => n + String(typeof m.content === 'string' ? m.content : '').split(/\s+/).length + 4, 0);

    switch (behaviour) {
      case '429-retry-after-once':
        if (attempt === 1) {
          entry.action = `429 retry-after ${timings.retryAfterS}`;
          sendError(socket, 429, `Rate limit reached for ${model}. Please retry after ${timings.retryAfterS} seconds.`, 'rate_limit_error', 'rate_limit_exceeded', {
            'retry-after': String(timings.retryAfterS),
          });
          return true;
        }
        break;
      case '429-persistent':
        entry.action = '429';
        sendError(socket, 429, `Rate limit reached for ${model}.`, 'rate_limit_error', 'rate_limit_exceeded');
        return true;
      case '500-once':
        if (attempt === 1) {
          entry.action = '500';
          sendError(socket, 500, 'The server had an error while processing your request.', 'server_error', null);
          return true;
        }
        break;
      case '503-persistent':
        entry.action = '503';
        sendError(socket, 503, 'The engine is currently overloaded. Please try again later.', 'server_error', 'overloaded');
        return true;
      case 'reset-once':
        if (attempt === 1) {
          entry.action = 'tcp reset';
          socket.resetAndDestroy();
          return false;
        }
        break;
      case 'no-response':
        entry.action = `no response for ${timings.noResponseMs} ms`;
        await sleep(timings.noResponseMs, socket);
        socket.destroy();
        return false;
      case 'context-length':
        entry.action = '400 context_length_exceeded';
        sendError(
          socket,
          400,
          "This model's maximum context length is 8192 tokens. However, your messages resulted in 9631 tokens. Please reduce the length of the messages.",
          'invalid_request_error',
          'context_length_exceeded',
          {},
          'messages',
        );
        return true;
      case 'content-filter':
        entry.action = '400 content_policy_violation';
        sendError(socket, 400, 'Your request was rejected as a result of our safety system.', 'invalid_request_error', 'content_policy_violation');
        return true;
      case 'flap':
        if (Date.now() - t0 < timings.flapDownMs) {
          entry.action = '503 (down)';
          sendError(socket, 503, 'The engine is currently overloaded. Please try again later.', 'server_error', 'overloaded');
          return true;
        }
        entry.action = '200 (recovered)';
        break;
      default:
        break;
    }
    const plan: AnswerPlan = { socket, entry, behaviour, model, id: `chatcmpl-wall-${seq}`, words, continuation, promptTokens, includeUsage: body.stream_options?.include_usage === true };
    return stream ? streamAnswer(plan) : plainAnswer(plan);
  }

  async function plainAnswer({ socket, entry, behaviour, model, id, words, continuation, promptTokens }: AnswerPlan): Promise<boolean> {
    if (behaviour === 'slow-ttft') {
      entry.action = `200 after ${timings.slowTtftMs} ms`;
      await sleep(timings.slowTtftMs, socket);
      if (socket.destroyed) return false;
    }
    const text = (continuation ? ' ' : '') + words.join(' ');
    const completion = {
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: words.length, total_tokens: promptTokens + words.length },
    };
    const json = JSON.stringify(completion);
    if (behaviour === 'stream-cut') {
      entry.action = '200 body cut at 60%';
      socket.end(head(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)), connection: 'close' }) + json.slice(0, Math.floor(json.length * 0.6)));
      return false;
    }
    if (behaviour === 'stream-stall') {
      entry.action = `200 headers then ${timings.stallMs} ms silence`;
      socket.write(head(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)), connection: 'close' }));
      await sleep(timings.stallMs, socket);
      socket.destroy();
      return false;
    }
    if (behaviour === 'malformed-chunk') {
      entry.action = '200 malformed JSON body';
      const bad = `${json.slice(0, json.length >> 1)}"oops`;
      socket.write(head(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(bad)) }) + bad);
      return true;
    }
    entry.action ||= '200';
    sendJson(socket, 200, completion);
    return true;
  }

  async function streamAnswer({ socket, entry, behaviour, model, id, words, continuation, includeUsage, promptTokens }: AnswerPlan): Promise<boolean> {
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const frame = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    const event = (payload: unknown) => frame(`data: ${JSON.stringify(payload)}\n\n`);
    socket.write(head(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'transfer-encoding': 'chunked' }));
    if (behaviour === 'slow-ttft') {
      entry.action = `200 stream, first token after ${timings.slowTtftMs} ms`;
      await sleep(timings.slowTtftMs, socket);
    }
    if (socket.destroyed) return false;
    socket.write(event(chunk({ role: 'assistant', content: '' })));
    for (let i = 0; i < words.length; i++) {
      if (socket.destroyed) return false;
      if (behaviour === 'stream-cut' && i === timings.cutAfterTokens) {
        entry.action = `200 stream cut after ${i} tokens`;
        socket.end(); // FIN without the last chunk: the body is incomplete
        return false;
      }
      if (behaviour === 'stream-stall' && i === timings.stallAfterTokens) {
        entry.action = `200 stream stalled after ${i} tokens for ${timings.stallMs} ms`;
        await sleep(timings.stallMs, socket);
        socket.end();
        return false;
      }
      if (behaviour === 'malformed-chunk' && i === timings.malformedAtToken) {
        entry.action = `200 stream, malformed event at token ${i}`;
        socket.write(frame(`data: {"id": "${id}", "object": "chat.completion.chunk", "choices": [{"delta": {"content": \n\n`));
      }
      socket.write(event(chunk({ content: i > 0 || continuation ? ` ${words[i]}` : words[i] })));
      if (timings.tokenIntervalMs > 0) await sleep(timings.tokenIntervalMs, socket);
    }
    if (socket.destroyed) return false;
    socket.write(event(chunk({}, 'stop')));
    if (includeUsage) {
      const usage = { prompt_tokens: promptTokens, completion_tokens: words.length, total_tokens: promptTokens + words.length };
      socket.write(event({ id, object: 'chat.completion.chunk', created, model, choices: [], usage }));
    }
    if (behaviour === 'no-done') entry.action = '200 stream complete, [DONE] omitted';
    else {
      socket.write(frame('data: [DONE]\n\n'));
      entry.action ||= '200 stream';
    }
    socket.write('0\r\n\r\n');
    return true;
  }

  function route(req: Request, socket: Socket, connection: number): Promise<boolean> | boolean {
    const path = req.path.split('?')[0];
    if (req.method === 'POST' && path.endsWith('/chat/completions')) return chat(req, socket, connection);
    if (req.method === 'GET' && path.endsWith('/models')) {
      sendJson(socket, 200, { object: 'list', data: ['fb-ok', 'fb-ok-noprefill', ...Object.keys(SCENARIOS).map((s) => `fb-${s}`)].map((id) => ({ id, object: 'model', owned_by: 'wall' })) });
      return true;
    }
    sendError(socket, 404, `No route for ${req.method} ${path}`, 'invalid_request_error', null);
    return true;
  }

  /** Reads HTTP/1.1 requests one after another from a connection (bodies with content-length). */
  function serve(socket: Socket): void {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let busy = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
          const [method, path] = lines[0].split(' ');
          const headers: Record<string, string> = {};
          for (const line of lines.slice(1)) {
            const colon = line.indexOf(':');
            if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
          }
          const length = Number(headers['content-length'] ?? 0);
          if (buffer.length < end + 4 + length) return;
          const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
          buffer = buffer.subarray(end + 4 + length);
          const keep = await route({ method, path, headers, body }, socket, connection);
          if (!keep || socket.destroyed) return;
        }
      } finally {
        busy = false;
      }
    };
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      void pump();
    });
  }

  const server: Server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    timings,
    log,
    reset() {
      log.length = 0;
      counts.clear();
      t0 = Date.now();
    },
    attempts: (model) => log.filter((e) => e.model === model),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
