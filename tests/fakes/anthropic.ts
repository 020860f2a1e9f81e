/**
 * A fake Anthropic Messages API on loopback that speaks the real wire protocol: auth
 * (`x-api-key`, or a bearer key as the 1.x SDKs send it) and version headers (2023-06-01,
 * and 2026-10-21 with its refusal of sampling parameters), beta flags (when it is told
 * which it knows), the request checks that matter to a gateway, JSON answers, the SSE
 * event sequence (ping included), thinking blocks with signatures it checks when they
 * come back, count_tokens, error bodies, rate-limit headers and every Fault kind.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Fault, FakeServer, RecordedRequest } from './fault';

export interface FakeToolUse {
  id?: string;
  name: string;
  input: Record<string, unknown>;
}

/** What the fake answers: thinking (when the request turns it on), text, tool calls (in that order). */
export interface FakeAnthropicReply {
  /** Streamed as thinking deltas, then its signature; only when the request has thinking on. */
  thinking?: string;
  text?: string;
  toolUses?: FakeToolUse[];
  /** Default: `tool_use` when there are tool uses, else `end_turn`. */
  stopReason?: string;
  /** Added to the computed usage (e.g. cache reads). */
  usage?: { cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
}

/** The request body as the fake reads it (only what it looks at). */
export interface FakeAnthropicRequest {
  model?: string;
  max_tokens?: number;
  system?: unknown;
  messages?: Array<{ role?: string; content?: unknown }>;
  tools?: unknown[];
  stream?: boolean;
  temperature?: number;
  [key: string]: unknown;
}

export interface FakeAnthropicOptions {
  /** The key `x-api-key` must carry. Default `sk-ant-fake-key`. */
  apiKey?: string;
  reply?: FakeAnthropicReply | ((req: FakeAnthropicRequest) => FakeAnthropicReply);
  /** The model the answer names; default the requested one (Anthropic resolves aliases this way). */
  reportedModel?: string;
  /** A larger estimated prompt is refused with Anthropic's "prompt is too long" 400. */
  contextTokens?: number;
  /** Values of the anthropic-ratelimit-* headers. */
  rateLimit?: { requests?: number; tokens?: number; resetMs?: number };
  /** A stream's body ends this long after message_stop: a server that works on before it closes the body. */
  endBodyAfterMs?: number;
  /** The beta flags it takes; any other is refused as the API refuses it. Default: every flag. */
  knownBetas?: readonly string[];
}

export interface FakeAnthropic extends FakeServer {
  readonly apiKey: string;
}

export const FAKE_ANTHROPIC_KEY = 'sk-ant-fake-key';
const DEFAULT_TEXT = 'Hello from the fake Anthropic.';

/** The error type Anthropic uses for each status. */
export function anthropicErrorType(status: number): string {
  const types: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    402: 'billing_error',
    403: 'permission_error',
    404: 'not_found_error',
    413: 'request_too_large',
    429: 'rate_limit_error',
    500: 'api_error',
    504: 'timeout_error',
    529: 'overloaded_error',
  };
  return types[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

const DEFAULT_MESSAGES: Record<string, string> = {
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
  overloaded_error: 'Overloaded',
  api_error: 'Internal server error',
  authentication_error: 'invalid x-api-key',
  permission_error: 'Your API key does not have permission to use the specified resource.',
  not_found_error: 'model: not found',
  request_too_large: 'Request exceeds the maximum allowed number of bytes.',
  invalid_request_error: 'Invalid request',
  billing_error: 'Your credit balance is too low to access the Anthropic API.',
  timeout_error: 'Request timed out',
};

export interface SseEvent {
  name: string;
  data: unknown;
  /** A content_block_delta: what the Fault `afterChunks` counts. */
  content: boolean;
}

export async function startFakeAnthropic(opts: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const apiKey = opts.apiKey ?? FAKE_ANTHROPIC_KEY;
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let served = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.socket?.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const fake: FakeAnthropic = {
    url: '',
    apiKey,
    requests,
    faults,
    openConnections: () => sockets.size,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as the raw text; answered below
    }
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body });
    const fault = faults.shift() ?? fake.always;
    const n = ++served;

    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (res.destroyed) return;

    const common = { 'request-id': `req_fake_${n}`, ...rateLimitHeaders(opts.rateLimit, n) };
    const path = req.url?.split('?')[0];
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) {
      return sendError(res, 404, 'not_found_error', `${req.method} ${req.url}: not found`, common);
    }
    // Both as the API takes them: the header x-api-key wins over a bearer key.
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const key = req.headers['x-api-key'] ?? bearer;
    if (!key) return sendError(res, 401, 'authentication_error', 'x-api-key header is required', common);
    if (key !== apiKey) return sendError(res, 401, 'authentication_error', 'invalid x-api-key', common);
    const version = req.headers['anthropic-version'];
    if (!version) return sendError(res, 400, 'invalid_request_error', 'anthropic-version: header is required', common);
    if (version !== '2023-06-01' && version !== '2026-10-21') return sendError(res, 400, 'invalid_request_error', `anthropic-version: ${String(version)} is not a valid version`, common);
    const betas = String(req.headers['anthropic-beta'] ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== '');
    const unknownBetas = opts.knownBetas ? betas.filter((b) => !opts.knownBetas!.includes(b)) : [];
    if (unknownBetas.length > 0) {
      const list = unknownBetas.map((b) => `\`${b}\``).join(', ');
      return sendError(
        res,
        400,
        'invalid_request_error',
        `Unexpected value(s) ${list} for the \`anthropic-beta\` header. Please consult our documentation at docs.anthropic.com or try again without the header.`,
        common,
      );
    }
    if (typeof body !== 'object' || body === null) {
      return sendError(res, 400, 'invalid_request_error', 'There was an error parsing the body of your request', common);
    }
    const request = body as FakeAnthropicRequest;
    const counting = path === '/v1/messages/count_tokens';
    const invalid = validate(request, opts.contextTokens, version, counting);
    if (invalid) return sendError(res, 400, 'invalid_request_error', invalid, common);
    if (counting && !fault) {
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ input_tokens: promptTokens(request) }));
    }

    if (fault?.kind === 'status') {
      const type = fault.code ?? anthropicErrorType(fault.status);
      const extra = fault.status === 429 ? { 'retry-after': '1', ...fault.headers } : (fault.headers ?? {});
      return sendError(res, fault.status, type, fault.message ?? DEFAULT_MESSAGES[type] ?? 'error', { ...common, ...extra });
    }
    if (fault?.kind === 'garbage') {
      res.writeHead(200, { ...common, 'content-type': request.stream ? 'text/event-stream' : 'application/json' });
      return void res.end(request.stream ? '<<not an event stream>>\n\n\u0000\u0001' : '{"id": "msg_garbage", "type": "mess');
    }
    if (fault?.kind === 'wrong-content-type') {
      res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8' });
      return void res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    }

    const reply = typeof opts.reply === 'function' ? opts.reply(request) : (opts.reply ?? { text: DEFAULT_TEXT });
    const message = messageOf(request, reply, opts.reportedModel, n);
    if (!request.stream) {
      const json = JSON.stringify(message);
      if (fault?.kind === 'cut' || fault?.kind === 'stall') {
        res.writeHead(200, { ...common, 'content-type': 'application/json' });
        await write(res, json.slice(0, Math.floor(json.length / 2)));
        if (fault.kind === 'cut') res.socket?.destroy();
        return;
      }
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      return void res.end(json);
    }
    await streamMessage(res, message, common, fault);
  }

  async function streamMessage(res: ServerResponse, message: Message, headers: Record<string, string>, fault: Fault | undefined) {
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders();
    let chunks = 0;
    for (const ev of sseEventsOf(message)) {
      if (res.destroyed) return;
      if (fault?.kind === 'no-terminator' && ev.name === 'message_stop') break;
      await write(res, `event: ${ev.name}\ndata: ${JSON.stringify(ev.data)}\n\n`);
      if (!ev.content) continue;
      chunks++;
      if (!fault || !('afterChunks' in fault) || chunks !== fault.afterChunks) continue;
      if (fault.kind === 'cut') return void res.socket?.destroy();
      if (fault.kind === 'stall') return;
      if (fault.kind === 'malformed') {
        await write(res, 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n');
      }
      if (fault.kind === 'stream-error') {
        const type = fault.code ?? 'overloaded_error';
        const error = { type: 'error', error: { type, message: fault.message ?? DEFAULT_MESSAGES[type] ?? 'error' } };
        await write(res, `event: error\ndata: ${JSON.stringify(error)}\n\n`);
        return void res.end();
      }
    }
    if (opts.endBodyAfterMs !== undefined) await new Promise((resolve) => setTimeout(resolve, opts.endBodyAfterMs));
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

// ---------------------------------------------------------------------------------------
// Answers

export interface Message {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: Array<{ type: 'thinking'; thinking: string; signature: string } | { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }>;
  stop_reason: string;
  stop_sequence: null;
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number };
}

export function messageOf(req: FakeAnthropicRequest, reply: FakeAnthropicReply, reportedModel: string | undefined, n: number): Message {
  const content: Message['content'] = [];
  if (reply.thinking && thinkingOn(req)) content.push({ type: 'thinking', thinking: reply.thinking, signature: signatureOf(reply.thinking) });
  if (reply.text) content.push({ type: 'text', text: reply.text });
  (reply.toolUses ?? []).forEach((t, i) => content.push({ type: 'tool_use', id: t.id ?? `toolu_fake_${n}_${i}`, name: t.name, input: t.input }));
  const output = Math.max(1, Math.ceil(JSON.stringify(content).length / 4));
  return {
    id: `msg_fake_${n}`,
    type: 'message',
    role: 'assistant',
    model: reportedModel ?? req.model ?? 'unknown',
    content,
    stop_reason: reply.stopReason ?? (reply.toolUses?.length ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: {
      input_tokens: promptTokens(req),
      output_tokens: output,
      cache_creation_input_tokens: reply.usage?.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: reply.usage?.cache_read_input_tokens ?? 0,
    },
  };
}

/** The real event sequence: message_start, ping, per block start/deltas/stop, message_delta, message_stop. */
export function sseEventsOf(m: Message): SseEvent[] {
  const events: SseEvent[] = [];
  const add = (name: string, data: unknown, content = false) => events.push({ name, data, content });
  add('message_start', {
    type: 'message_start',
    message: { ...m, content: [], stop_reason: null, stop_sequence: null, usage: { ...m.usage, output_tokens: 1 } },
  });
  add('ping', { type: 'ping' });
  m.content.forEach((block, index) => {
    if (block.type === 'thinking') {
      add('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      for (const piece of block.thinking.match(/\s*\S+/g) ?? [block.thinking]) {
        add('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } }, true);
      }
      add('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } }, true);
    } else if (block.type === 'text') {
      add('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const piece of block.text.match(/\s*\S+/g) ?? [block.text]) {
        add('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }, true);
      }
    } else {
      add('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      const json = JSON.stringify(block.input);
      const third = Math.ceil(json.length / 3);
      // Anthropic's first input delta is often empty.
      for (const piece of ['', json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)]) {
        add('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }, true);
      }
    }
    add('content_block_stop', { type: 'content_block_stop', index });
    if (index === 0) add('ping', { type: 'ping' });
  });
  add('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: m.stop_reason, stop_sequence: null },
    usage: { output_tokens: m.usage.output_tokens },
  });
  add('message_stop', { type: 'message_stop' });
  return events;
}

// ---------------------------------------------------------------------------------------
// Request checks Anthropic makes, with its wording

/** Blocks that carry `cache_control`: tools, system blocks, message blocks and a tool result's own blocks. */
function cacheBreakpoints(req: FakeAnthropicRequest): number {
  const marked = (b: unknown) => typeof b === 'object' && b !== null && (b as { cache_control?: unknown }).cache_control != null;
  const blocks: unknown[] = [...(req.tools ?? []), ...(Array.isArray(req.system) ? (req.system as unknown[]) : [])];
  for (const m of req.messages ?? []) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content as Array<{ content?: unknown }>) blocks.push(b, ...(Array.isArray(b.content) ? (b.content as unknown[]) : []));
  }
  return blocks.filter(marked).length;
}

export function validate(req: FakeAnthropicRequest, contextTokens: number | undefined, version = '2023-06-01', counting = false): string | undefined {
  if (typeof req.model !== 'string' || req.model === '') return 'model: Field required';
  if (counting && req.max_tokens !== undefined) return 'max_tokens: Extra inputs are not permitted';
  if (!counting && (typeof req.max_tokens !== 'number' || !Number.isInteger(req.max_tokens) || req.max_tokens < 1)) return 'max_tokens: Field required';
  if (version === '2026-10-21') {
    for (const key of ['temperature', 'top_p', 'top_k']) if (key in req) return `${key}: Extra inputs are not permitted`;
  }
  if (req.temperature !== undefined && (req.temperature < 0 || req.temperature > 1)) return 'temperature: Input should be less than or equal to 1';
  if (req.system !== undefined && typeof req.system !== 'string' && !Array.isArray(req.system)) return 'system: Input should be a valid string';
  const messages = req.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: Field required';
  let toolBlocks = false;
  let previousToolUses = new Set<string>();
  for (const [i, m] of messages.entries()) {
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (!Array.isArray(blocks) || blocks.length === 0) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    const toolUses = new Set<string>();
    for (const [j, b] of (blocks as Array<Record<string, unknown>>).entries()) {
      if (b.type === 'text' && (typeof b.text !== 'string' || b.text.trim() === '')) return 'messages: text content blocks must contain non-whitespace text';
      // Signatures are Claude's: a thinking block comes back exactly as it was answered, or not at all.
      if (b.type === 'thinking' && (typeof b.thinking !== 'string' || b.signature !== signatureOf(b.thinking)))
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      if (b.type === 'tool_use') {
        toolBlocks = true;
        if (typeof b.input !== 'object' || b.input === null || Array.isArray(b.input)) return `messages.${i}.content.${j}.tool_use.input: Input should be a valid dictionary`;
        toolUses.add(String(b.id));
      }
      if (b.type === 'tool_result') {
        toolBlocks = true;
        if (m.role !== 'user' || !previousToolUses.has(String(b.tool_use_id))) {
          return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(b.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
        }
      }
    }
    previousToolUses = toolUses;
  }
  if (toolBlocks && (!Array.isArray(req.tools) || req.tools.length === 0)) return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
  const breakpoints = cacheBreakpoints(req);
  if (breakpoints > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`;
  const images = messages.flatMap((m, i) =>
    Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>).map((b, j) => ({ b, at: `messages.${i}.content.${j}`, role: m.role })) : [],
  );
  for (const { b, at, role } of images) {
    if (b.type !== 'image') continue;
    if (role !== 'user') return `${at}: image blocks are only allowed in user messages`;
    const problem = imageSourceProblem(b.source, at);
    if (problem) return problem;
  }
  if (images.filter((x) => x.b.type === 'image').length > 100) return 'messages: too many images: at most 100 per request';
  const choice = req.tool_choice as { type?: string; name?: string } | undefined;
  if (choice?.type === 'tool' && !(req.tools as Array<{ name?: string }> | undefined)?.some((t) => t.name === choice.name)) return `tool_choice: tool ${choice.name} is not in tools`;
  const format = (req.output_config as { format?: { type?: string; schema?: unknown } } | undefined)?.format;
  if (format && (format.type !== 'json_schema' || typeof format.schema !== 'object' || format.schema === null)) return 'output_config.format: a json_schema format needs a schema object';
  const thinkingRule = thinkingProblem(req, messages);
  if (thinkingRule) return thinkingRule;
  const last = messages[messages.length - 1];
  if (last.role === 'assistant' && thinkingOn(req)) return 'messages: a final assistant message (prefill) is not supported when thinking is enabled';
  if (last.role === 'assistant') {
    const blocks = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : (last.content as Array<{ type?: string; text?: string }>);
    const tail = blocks[blocks.length - 1];
    if (tail?.type === 'text' && /\s$/.test(tail.text ?? '')) return 'messages: final assistant content cannot end with trailing whitespace';
  }
  const prompt = promptTokens(req);
  if (contextTokens !== undefined && prompt + (req.max_tokens ?? 0) > contextTokens) {
    return `prompt is too long: ${prompt + (req.max_tokens ?? 0)} tokens > ${contextTokens} maximum`;
  }
  return undefined;
}

/** Claude's rules for extended thinking, in its words (Anthropic's extended-thinking docs). */
function thinkingProblem(req: FakeAnthropicRequest, messages: NonNullable<FakeAnthropicRequest['messages']>): string | undefined {
  const thinking = req.thinking as { type?: string; budget_tokens?: unknown } | undefined;
  if (thinking?.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if ((req.max_tokens ?? 0) <= budget) return '`max_tokens` must be greater than `thinking.budget_tokens`.';
  }
  if (!thinkingOn(req)) return undefined;
  if (req.temperature !== undefined && req.temperature !== 1) return '`temperature` may only be set to 1 when thinking is enabled.';
  if (typeof req.top_p === 'number' && req.top_p < 0.95) return '`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.';
  if (req.top_k !== undefined) return '`top_k` must be unset when thinking is enabled.';
  const choice = (req.tool_choice as { type?: string } | undefined)?.type;
  if (choice === 'any' || choice === 'tool') return 'Thinking may not be enabled when tool_choice forces tool use.';
  // The turn of the last tool calls is still on: it must start with its thinking, as answered.
  const at = messages.findLastIndex((m) => m.role === 'assistant');
  const blocks = at < 0 || !Array.isArray(messages[at].content) ? [] : (messages[at].content as Array<{ type?: string }>);
  if (blocks.some((b) => b.type === 'tool_use') && blocks[0].type !== 'thinking' && blocks[0].type !== 'redacted_thinking') {
    return `messages.${at}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${blocks[0].type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`;
  }
  return undefined;
}

function thinkingOn(req: FakeAnthropicRequest): boolean {
  const type = (req.thinking as { type?: string } | undefined)?.type;
  return type === 'enabled' || type === 'adaptive';
}

/** The fake's signature of a thinking text: the same text always has the same one, any other text another. */
export function signatureOf(thinking: string): string {
  return `sig_${createHash('sha256').update(thinking).digest('base64url')}`;
}

/** An image source as Anthropic checks it: base64 of a known media type (5 MB of base64 at most), or a URL it fetches. */
function imageSourceProblem(source: unknown, at: string): string | undefined {
  const s = source as { type?: string; media_type?: string; data?: unknown; url?: unknown } | undefined;
  if (s?.type === 'url') return typeof s.url === 'string' && /^https?:\/\//.test(s.url) ? undefined : `${at}.image.source.url: must be an http(s) URL`;
  if (s?.type !== 'base64') return `${at}.image.source: Input tag '${s?.type}' found using 'type' does not match any of the expected tags: 'base64', 'url'`;
  if (!['image/png', 'image/jpeg', 'image/gif', 'image/webp'].includes(s.media_type ?? ''))
    return `${at}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
  if (typeof s.data !== 'string' || s.data === '') return `${at}.image.source.base64.data: Field required`;
  if (s.data.length > 5 * 1024 * 1024) return `${at}.image.source.base64: image exceeds 5 MB maximum: ${s.data.length} bytes > 5242880 bytes`;
  return undefined;
}

export function promptTokens(req: FakeAnthropicRequest): number {
  return Math.max(1, Math.ceil(JSON.stringify([req.system ?? '', req.messages ?? [], req.tools ?? []]).length / 4));
}

// ---------------------------------------------------------------------------------------
// Wire helpers

function rateLimitHeaders(limits: FakeAnthropicOptions['rateLimit'], n: number): Record<string, string> {
  const requests = limits?.requests ?? 50;
  const tokens = limits?.tokens ?? 40_000;
  const reset = new Date(Date.now() + (limits?.resetMs ?? 60_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    'anthropic-ratelimit-requests-limit': String(requests),
    'anthropic-ratelimit-requests-remaining': String(Math.max(0, requests - n)),
    'anthropic-ratelimit-requests-reset': reset,
    'anthropic-ratelimit-tokens-limit': String(tokens),
    'anthropic-ratelimit-tokens-remaining': String(tokens),
    'anthropic-ratelimit-tokens-reset': reset,
    'anthropic-ratelimit-input-tokens-limit': String(tokens),
    'anthropic-ratelimit-input-tokens-remaining': String(tokens),
    'anthropic-ratelimit-input-tokens-reset': reset,
    'anthropic-ratelimit-output-tokens-limit': String(tokens),
    'anthropic-ratelimit-output-tokens-remaining': String(tokens),
    'anthropic-ratelimit-output-tokens-reset': reset,
  };
}

function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
}

/** Resolves once the bytes are handed to the socket, so a following destroy cannot drop them. */
function write(res: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(text, () => resolve());
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
