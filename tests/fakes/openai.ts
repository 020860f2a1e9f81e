/**
 * A fake OpenAI-compatible server on 127.0.0.1 that speaks the real wire format (JSON
 * answers, SSE chunks, error bodies, rate-limit headers) and injects every Fault kind.
 * Chaos tests and benchmarks share it, so a normal answer does little work: no parsing
 * beyond the request body, one write when there is no chunk delay.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Fault, FakeServer, RecordedRequest } from './fault';
import { fakeEmbeddings, type FakeEmbeddingsOptions } from './openai-embeddings';

/** The parts of a chat request the fake looks at (it accepts any body with messages). */
export interface FakeChatRequest {
  model?: string;
  messages: Array<{ role?: string; content?: unknown }>;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  tools?: Array<{ type?: string; function?: { name?: string } }>;
  tool_choice?: unknown;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  [key: string]: unknown;
}

export interface FakeToolCall {
  /** Defaults to the function `tool_choice` names, else the request's first tool. */
  name?: string;
  arguments: string | Record<string, unknown>;
  id?: string;
}

export interface FakeOpenAIOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401 like OpenAI). */
  apiKey?: string;
  /** The answer text (default: a fixed sentence). */
  reply?: string | ((req: FakeChatRequest) => string);
  /** Answer with this tool call when the request has tools (and tool_choice is not "none"). */
  toolCall?: FakeToolCall | ((req: FakeChatRequest) => FakeToolCall | undefined);
  /** Content chunks a streamed answer is split into (default 4). */
  chunks?: number;
  /** Wait between streamed chunks (default 0: the whole stream in one write). */
  chunkDelayMs?: number;
  /** Wait before every answer's headers. */
  latencyMs?: number;
  /** The `model` reported in answers (default: the requested model). */
  model?: string;
  /** What GET /v1/models lists (default: `model` or "gpt-4o-mini"). */
  models?: string[];
  /** Send `x-ratelimit-*` headers on every answer, counting requests down. */
  rateLimitHeaders?: boolean;
  /** DeepSeek: `: keep-alive` comment lines between stream chunks (and during a stall). */
  keepAliveComments?: boolean;
  /** DeepSeek: blank lines ahead of a non-streamed JSON body. */
  leadingBlankLines?: number;
  /** vLLM: error bodies carry the status as an integer `code`. */
  vllmErrors?: boolean;
  /** Keep requests in `requests` (default true; benchmarks turn it off). */
  recordRequests?: boolean;
  /** GET /health answers 503 (a dead vLLM engine). */
  unhealthy?: boolean;
  /** Extra headers on every chat answer (e.g. `x-gateway-route` to play a spoke). */
  headers?: Record<string, string>;
  /** A stream's body ends this long after its last frame (`[DONE]`): a server that works on before it closes the body. */
  endBodyAfterMs?: number;
  /** Rewrites a stream's SSE frames (`data: ...\n\n` strings, `[DONE]` last) for wire cases faults do not cover. */
  editFrames?: (frames: string[]) => string[];
  /** Rewrites a non-streamed completion before it is sent (e.g. drop `usage`). */
  editCompletion?: (completion: Record<string, unknown>) => unknown;
  /** Called as each chat request arrives, with the chat requests then in flight (this one included). */
  onChatRequest?: (inFlight: number) => void;
  /** POST /v1/embeddings: how the server deviates from OpenAI's own (see openai-embeddings.ts). */
  embeddings?: FakeEmbeddingsOptions;
  /** Called as each embeddings request arrives, with the requests then in flight (this one included). */
  onEmbeddingsRequest?: (inFlight: number) => void;
}

export interface FakeOpenAI extends FakeServer {
  /** `http://127.0.0.1:PORT`, without `/v1` (for /health). `url` is the `/v1` base URL. */
  readonly origin: string;
  /** Live options: change them between requests. */
  readonly options: FakeOpenAIOptions;
  /** TCP connections accepted since start (keep-alive makes this small). */
  connectionsAccepted(): number;
  /** Answers the client gave up on (closed the connection) before they were complete. */
  clientAborts(): number;
  /** Chat and embeddings requests received and not yet ended (answered, cut or abandoned). */
  inFlight(): number;
  /** Chat and embeddings responses sent whole (answers and error statuses alike). */
  answered(): number;
  /** The endpoint dies: stops listening (connections refused) and destroys every open socket. */
  kill(): Promise<void>;
  /** The endpoint comes back on the same port. */
  revive(): Promise<void>;
}

const DEFAULT_REPLY = 'Hello! This is the fake OpenAI server answering your request.';
const CREATED = 1_700_000_000;
const RATE_LIMIT_REQUESTS = 10_000;
const RATE_LIMIT_TOKENS = 2_000_000;
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json' };

interface Answer {
  id: string;
  model: string;
  text: string;
  tool?: { id: string; name: string; arguments: string };
  finish: 'stop' | 'length' | 'tool_calls';
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const options: FakeOpenAIOptions = { ...opts };
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let accepted = 0;
  let aborts = 0;
  let served = 0;
  let inFlight = 0;
  let answered = 0;
  let port = 0;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const sleep = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => later(ms, resolve)) : Promise.resolve());

  const server = createServer((req, res) => {
    let killedByFake = false;
    const kill = (reset: boolean) => {
      killedByFake = true;
      if (reset) req.socket.resetAndDestroy();
      else req.socket.destroy();
    };
    res.on('close', () => {
      if (!res.writableFinished && !killedByFake) aborts++;
    });
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      route(req, res, Buffer.concat(parts).toString('utf8'), kill).catch(() => res.destroy());
    });
  });
  server.on('connection', (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function route(req: IncomingMessage, res: ServerResponse, raw: string, kill: Kill): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const parsed = parseJson(raw);
    if (options.recordRequests !== false) {
      requests.push({ method: req.method ?? '', path, headers: req.headers, body: parsed ?? raw });
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(options.unhealthy ? 503 : 200).end();
      return;
    }
    const authError = checkAuth(req.headers.authorization);
    if (authError) return sendError(res, 401, authError);
    if (req.method === 'GET' && path === '/v1/models') {
      const ids = options.models ?? [options.model ?? 'gpt-4o-mini'];
      const data = ids.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'fake' }));
      return sendJson(res, 200, { object: 'list', data });
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      inFlight++;
      res.on('finish', () => answered++);
      res.on('close', () => inFlight--);
      options.onEmbeddingsRequest?.(inFlight);
      return embeddings(res, parsed, faults.shift() ?? fake.always, kill);
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return sendError(res, 404, invalidRequest(`Invalid URL (${req.method} ${path})`));
    }
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
      return sendError(res, 400, invalidRequest('We could not parse the JSON body of your request.'));
    }
    const body = parsed as FakeChatRequest;
    if (!Array.isArray(body.messages)) {
      return sendError(res, 400, invalidRequest("Missing required parameter: 'messages'.", 'missing_required_parameter', 'messages'));
    }
    inFlight++;
    res.on('finish', () => answered++);
    res.on('close', () => inFlight--);
    options.onChatRequest?.(inFlight);
    await chat(res, body, faults.shift() ?? fake.always, kill);
  }

  function checkAuth(header: string | undefined): ErrorFields | undefined {
    if (options.apiKey === undefined) return undefined;
    const key = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (key === options.apiKey) return undefined;
    if (!key) return invalidRequest("You didn't provide an API key. You need to provide it in an Authorization header using Bearer auth.");
    // Real OpenAI quotes the key it got, masked but with its ends: the gateway must not pass that on.
    const masked = `${key.slice(0, 8)}${'*'.repeat(Math.max(4, key.length - 12))}${key.slice(-4)}`;
    const hint = 'You can find your API key at https://platform.openai.com/account/api-keys.';
    return invalidRequest(`Incorrect API key provided: ${masked}. ${hint}`, 'invalid_api_key');
  }

  type Kill = (reset: boolean) => void;

  async function chat(res: ServerResponse, body: FakeChatRequest, fault: Fault | undefined, kill: Kill) {
    const n = ++served;
    if (fault?.kind === 'reset') return kill(true);
    if (fault?.kind === 'hang') return; // the socket stays open until the client or close() ends it
    const streaming = body.stream === true;
    const leading = !streaming && !fault ? (options.leadingBlankLines ?? 0) : 0;
    if (leading > 0) {
      // DeepSeek commits to 200 at once and sends blank lines while the model works.
      res.writeHead(200, { ...JSON_HEADERS, ...answerHeaders() });
      res.write('\n'.repeat(leading));
    }
    await sleep((options.latencyMs ?? 0) + (fault?.kind === 'delay' ? fault.ms : 0));
    if (res.destroyed) return;
    if (fault?.kind === 'status') return sendStatusFault(res, fault, body);
    if (fault?.kind === 'wrong-content-type') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    if (fault?.kind === 'garbage') {
      res.writeHead(200, streaming ? SSE_HEADERS : JSON_HEADERS);
      res.end(streaming ? 'this is not an event stream\n\ndata: {"not":"a chunk"}\n\n' : '<<garbage>> {"id": not json');
      return;
    }
    if (fault?.kind === 'stream-error' && !streaming) {
      const status = Number(fault.code) >= 400 ? Number(fault.code) : 500;
      return sendStatusFault(res, { kind: 'status', status, code: fault.code, message: fault.message }, body);
    }
    const answer = compose(body, n);
    if (streaming) return stream(res, answer, body.stream_options?.include_usage === true, fault, kill);
    const doc = options.editCompletion ? options.editCompletion(completionOf(answer)) : completionOf(answer);
    const json = JSON.stringify(doc);
    if (leading > 0) {
      res.end(json);
    } else if (fault?.kind === 'cut') {
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(json), ...answerHeaders() });
      res.write(json.slice(0, json.length >> 1), () => kill(false));
    } else if (fault?.kind === 'stall') {
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(json), ...answerHeaders() });
      res.flushHeaders();
    } else {
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(json), ...answerHeaders() });
      res.end(json);
    }
  }

  async function embeddings(res: ServerResponse, body: unknown, fault: Fault | undefined, kill: Kill) {
    served++;
    if (fault?.kind === 'reset') return kill(true);
    if (fault?.kind === 'hang') return;
    await sleep((options.latencyMs ?? 0) + (fault?.kind === 'delay' ? fault.ms : 0));
    if (res.destroyed) return;
    const model = (body as { model?: unknown } | undefined)?.model;
    if (fault?.kind === 'status') return sendStatusFault(res, fault, { messages: [], model: typeof model === 'string' ? model : undefined });
    if (fault?.kind === 'wrong-content-type') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end('<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>');
    }
    if (fault?.kind === 'garbage') {
      res.writeHead(200, JSON_HEADERS);
      return void res.end('<<garbage>> {"object": "list", not json');
    }
    const outcome = fakeEmbeddings(body, options.embeddings ?? {});
    if (!outcome.ok) return sendError(res, outcome.status, invalidRequest(outcome.message, outcome.code, outcome.param));
    res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(outcome.text), ...answerHeaders() });
    if (fault?.kind === 'cut') return void res.write(outcome.text.slice(0, outcome.text.length >> 1), () => kill(false));
    if (fault?.kind === 'stall') return void res.flushHeaders();
    res.end(outcome.text);
  }

  function stream(res: ServerResponse, a: Answer, includeUsage: boolean, fault: Fault | undefined, kill: Kill) {
    const frames = options.editFrames ? options.editFrames(sseFrames(a, includeUsage)) : sseFrames(a, includeUsage);
    // frames: [role, ...content, finish, usage?, DONE]; faults count content chunks after the role chunk.
    const at = (n: number) => Math.min(1 + n, frames.length);
    let plan = frames;
    let ending: 'end' | 'close' | 'cut' | 'stall' = 'end';
    if (fault?.kind === 'cut' || fault?.kind === 'stall') {
      plan = frames.slice(0, at(fault.afterChunks));
      ending = fault.kind;
    } else if (fault?.kind === 'malformed') {
      plan = [...frames.slice(0, at(fault.afterChunks)), 'data: {not json\n\n', ...frames.slice(at(fault.afterChunks))];
    } else if (fault?.kind === 'no-terminator') {
      plan = frames.slice(0, -1);
      ending = 'close';
    } else if (fault?.kind === 'stream-error') {
      const error = `data: ${JSON.stringify(streamErrorBody(fault))}\n\n`;
      plan = [...frames.slice(0, at(fault.afterChunks)), error, 'data: [DONE]\n\n'];
    }
    res.writeHead(200, { ...SSE_HEADERS, ...(ending === 'close' ? { connection: 'close' } : {}), ...answerHeaders() });
    const keepAlive = options.keepAliveComments === true;
    const endLater = ending === 'end' && options.endBodyAfterMs !== undefined;
    const finish = () => {
      if (endLater) later(options.endBodyAfterMs!, () => res.end());
      else if (ending === 'end' || ending === 'close') res.end();
      else if (ending === 'cut') kill(false);
      else if (keepAlive) commentWhileStalled(res);
    };
    const delay = options.chunkDelayMs ?? 0;
    if (delay <= 0) {
      // One write for the whole stream: what keeps the fake cheap under benchmark load.
      const text = keepAlive ? plan.join(': keep-alive\n\n') : plan.join('');
      if ((ending === 'end' && !endLater) || ending === 'close') res.end(text);
      else res.write(text, finish);
      return;
    }
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i >= plan.length) return finish();
      if (keepAlive && i > 0) res.write(': keep-alive\n\n');
      res.write(plan[i++]);
      later(delay, next);
    };
    next();
  }

  function commentWhileStalled(res: ServerResponse) {
    if (res.destroyed) return;
    res.write(': keep-alive\n\n');
    later(Math.max(10, options.chunkDelayMs ?? 50), () => commentWhileStalled(res));
  }

  function compose(body: FakeChatRequest, n: number): Answer {
    const id = `chatcmpl-fake${n}`;
    const model = options.model ?? body.model ?? 'gpt-4o-mini';
    const promptTokens = Math.max(1, Math.ceil(promptChars(body) / 4));
    const tool = pickToolCall(body, n);
    if (tool) {
      const completion = Math.ceil((tool.name.length + tool.arguments.length) / 4);
      return { id, model, text: '', tool, finish: 'tool_calls', usage: usage(promptTokens, completion) };
    }
    let text = typeof options.reply === 'function' ? options.reply(body) : (options.reply ?? DEFAULT_REPLY);
    let completion = Math.ceil(text.length / 4);
    const cap = body.max_completion_tokens ?? body.max_tokens;
    let finish: Answer['finish'] = 'stop';
    if (typeof cap === 'number' && cap > 0 && completion > cap) {
      text = text.slice(0, cap * 4);
      completion = cap;
      finish = 'length';
    }
    return { id, model, text, finish, usage: usage(promptTokens, completion) };
  }

  function pickToolCall(body: FakeChatRequest, n: number): Answer['tool'] {
    const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
    if (!options.toolCall || !hasTools || body.tool_choice === 'none') return undefined;
    const call = typeof options.toolCall === 'function' ? options.toolCall(body) : options.toolCall;
    if (!call) return undefined;
    const chosen = (body.tool_choice as { function?: { name?: string } } | undefined)?.function?.name;
    const name = call.name ?? chosen ?? body.tools?.[0]?.function?.name ?? 'tool';
    const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
    return { id: call.id ?? `call_fake${n}`, name, arguments: args };
  }

  function sseFrames(a: Answer, includeUsage: boolean): string[] {
    const base = { id: a.id, object: 'chat.completion.chunk', created: CREATED, model: a.model, system_fingerprint: 'fp_fake' };
    // With include_usage OpenAI puts `usage: null` on every chunk but the last.
    const tail = includeUsage ? { usage: null } : {};
    const frame = (delta: object, finish: string | null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...tail })}\n\n`;
    const out: string[] = [];
    if (a.tool) {
      const head = { index: 0, id: a.tool.id, type: 'function', function: { name: a.tool.name, arguments: '' } };
      out.push(frame({ role: 'assistant', content: null, tool_calls: [head], refusal: null }, null));
      for (const piece of split(a.tool.arguments, options.chunks ?? 4)) {
        out.push(frame({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
      }
    } else {
      out.push(frame({ role: 'assistant', content: '', refusal: null }, null));
      for (const piece of split(a.text, options.chunks ?? 4)) out.push(frame({ content: piece }, null));
    }
    out.push(frame({}, a.finish));
    if (includeUsage) out.push(`data: ${JSON.stringify({ ...base, choices: [], usage: a.usage })}\n\n`);
    out.push('data: [DONE]\n\n');
    return out;
  }

  function completionOf(a: Answer): Record<string, unknown> {
    const call = a.tool && { id: a.tool.id, type: 'function', function: { name: a.tool.name, arguments: a.tool.arguments } };
    const message = call ? { role: 'assistant', content: null, tool_calls: [call], refusal: null } : { role: 'assistant', content: a.text, refusal: null };
    return {
      id: a.id,
      object: 'chat.completion',
      created: CREATED,
      model: a.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: a.finish }],
      usage: a.usage,
      system_fingerprint: 'fp_fake',
    };
  }

  function answerHeaders(): Record<string, string> {
    if (!options.rateLimitHeaders) return options.headers ?? {};
    return {
      ...options.headers,
      'x-ratelimit-limit-requests': String(RATE_LIMIT_REQUESTS),
      'x-ratelimit-remaining-requests': String(Math.max(0, RATE_LIMIT_REQUESTS - served)),
      'x-ratelimit-reset-requests': '6ms',
      'x-ratelimit-limit-tokens': String(RATE_LIMIT_TOKENS),
      'x-ratelimit-remaining-tokens': String(RATE_LIMIT_TOKENS - 1000),
      'x-ratelimit-reset-tokens': '30ms',
    };
  }

  function sendStatusFault(res: ServerResponse, fault: Extract<Fault, { kind: 'status' }>, body: FakeChatRequest) {
    const { fields, headers } = errorFor(fault.status, fault.code, body.model ?? 'gpt-4o-mini');
    if (fault.message !== undefined) fields.message = fault.message;
    sendError(res, fault.status, fields, { ...headers, ...fault.headers });
  }

  function sendError(res: ServerResponse, status: number, fields: ErrorFields, headers: Record<string, string> = {}) {
    const code = options.vllmErrors && typeof fields.code !== 'string' ? status : fields.code;
    const error = { message: fields.message, type: fields.type, param: fields.param ?? null, code: code ?? null };
    sendJson(res, status, { error }, headers);
  }

  const fake: FakeOpenAI = {
    url: '',
    origin: '',
    requests,
    faults,
    options,
    connectionsAccepted: () => accepted,
    clientAborts: () => aborts,
    openConnections: () => sockets.size,
    inFlight: () => inFlight,
    answered: () => answered,
    async kill() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
    async revive() {
      if (server.listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  Object.assign(fake, { origin, url: `${origin}/v1` });
  return fake;
}

interface ErrorFields {
  message: string;
  type: string;
  param?: string | null;
  code: string | number | null;
}

const invalidRequest = (message: string, code: string | null = null, param: string | null = null): ErrorFields => ({
  message,
  type: 'invalid_request_error',
  param,
  code,
});
const serverError = (message: string, type = 'server_error'): ErrorFields => ({ message, type, code: null });

/** OpenAI's error bodies per status (402 and 422 as DeepSeek sends them, 529 as overloaded servers do). */
const ERRORS_BY_STATUS: Record<number, (model: string) => ErrorFields> = {
  400: () => invalidRequest('Invalid request.'),
  401: () => invalidRequest('Incorrect API key provided.', 'invalid_api_key'),
  402: () => ({ message: 'Insufficient Balance', type: 'unknown_error', code: 'invalid_request_error' }),
  403: (m) => invalidRequest(`Project does not have access to model \`${m}\``, 'model_not_found'),
  404: (m) => invalidRequest(`The model \`${m}\` does not exist or you do not have access to it.`, 'model_not_found'),
  408: () => serverError('Request timed out.', 'timeout'),
  422: () => invalidRequest('Invalid Parameters'),
  429: (m) => ({
    message: `Rate limit reached for ${m} in organization org-fake on requests per min (RPM): Limit 60, Used 60. Please try again in 1s.`,
    type: 'requests',
    code: 'rate_limit_exceeded',
  }),
  500: () => serverError('The server had an error while processing your request. Sorry about that!'),
  503: () => serverError('The engine is currently overloaded, please try again later.'),
  529: () => serverError('Overloaded', 'overloaded_error'),
};

/** Bodies that depend on the error code the fault names rather than on the status. */
const ERRORS_BY_CODE: Record<string, ErrorFields> = {
  context_length_exceeded: invalidRequest("This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.", 'context_length_exceeded', 'messages'),
  content_filter: invalidRequest('The prompt was filtered by the content management policy.', 'content_filter', 'prompt'),
  content_policy_violation: invalidRequest('Your request was rejected by the safety system.', 'content_policy_violation', 'prompt'),
  insufficient_quota: {
    message: 'You exceeded your current quota, please check your plan and billing details.',
    type: 'insufficient_quota',
    code: 'insufficient_quota',
  },
};

/** What OpenAI sends with a rate-limit 429: the request limit is spent and resets in a second. */
const THROTTLED_HEADERS = {
  'retry-after': '1',
  'x-ratelimit-limit-requests': '60',
  'x-ratelimit-remaining-requests': '0',
  'x-ratelimit-reset-requests': '1s',
  'x-ratelimit-limit-tokens': String(RATE_LIMIT_TOKENS),
  'x-ratelimit-remaining-tokens': String(RATE_LIMIT_TOKENS),
  'x-ratelimit-reset-tokens': '0s',
};

function errorFor(status: number, code: string | undefined, model: string): { fields: ErrorFields; headers: Record<string, string> } {
  const byStatus = ERRORS_BY_STATUS[status]?.(model) ?? serverError(`Upstream answered ${status}.`);
  const fields = { ...((code && ERRORS_BY_CODE[code]) || byStatus) };
  if (code) fields.code = code;
  const throttled = status === 429 && fields.code === 'rate_limit_exceeded';
  return { fields, headers: throttled ? THROTTLED_HEADERS : {} };
}

/** vLLM's shape for an error inside a 200 stream. */
function streamErrorBody(fault: Extract<Fault, { kind: 'stream-error' }>): object {
  const numeric = Number(fault.code);
  const code = fault.code === undefined ? 500 : Number.isInteger(numeric) ? numeric : fault.code;
  return { error: { message: fault.message ?? 'The engine is overloaded.', type: 'InternalServerError', param: null, code } };
}

function sendJson(res: ServerResponse, status: number, doc: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(doc);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function parseJson(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function promptChars(body: FakeChatRequest): number {
  let n = 0;
  for (const m of body.messages) {
    if (typeof m?.content === 'string') n += m.content.length;
    else if (Array.isArray(m?.content)) for (const p of m.content as Array<{ text?: unknown } | null>) n += typeof p?.text === 'string' ? p.text.length : 0;
  }
  return n;
}

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** `text` in `n` nearly equal pieces (fewer when it is shorter than `n`). */
function split(text: string, n: number): string[] {
  if (text === '') return [];
  const size = Math.ceil(text.length / Math.max(1, n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
