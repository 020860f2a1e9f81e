/**
 * A fake Amazon Bedrock Runtime for Claude through its native API, speaking the real wire
 * protocol: InvokeModel (the Anthropic message JSON), InvokeModelWithResponseStream (an
 * AWS event stream of `chunk` events, each the base64 of one Anthropic event's JSON, the
 * last with Bedrock's invocation metrics) and CountTokens, behind SigV4 and Bedrock's
 * error shape. The body follows Bedrock's rules: `anthropic_version:
 * "bedrock-2023-05-31"`, no `model` or `stream` ("extraneous key"), `metadata` with
 * `user_id` only, beta flags in `anthropic_beta` from the set Bedrock takes. The answers
 * and the Anthropic request checks (thinking signatures, prefill with thinking, tool
 * pairing) are the Anthropic fake's. Driven in tests by the real
 * @aws-sdk/client-bedrock-runtime.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { messageOf, promptTokens, sseEventsOf, validate, type FakeAnthropicReply, type FakeAnthropicRequest } from './anthropic';
import { BedrockError, checkSigV4, eventFrame, exceptionFrame, readBody, sendError, statusError } from './bedrock';
import type { Fault, FakeServer, RecordedRequest } from './fault';

export interface BedrockClaudeRecordedRequest extends RecordedRequest {
  modelId: string;
  operation: 'invoke' | 'invoke-with-response-stream' | 'count-tokens';
  /** The InvokeModel body (for count-tokens: the one inside `input.invokeModel.body`), parsed. */
  invokeBody?: Record<string, unknown>;
}

export interface FakeBedrockClaudeOptions {
  reply?: FakeAnthropicReply | ((req: FakeAnthropicRequest) => FakeAnthropicReply);
  /** The `anthropic_beta` flags it takes (default: a few Bedrock takes). */
  knownBetas?: readonly string[];
}

export interface FakeBedrockClaude extends FakeServer {
  readonly requests: BedrockClaudeRecordedRequest[];
  reply: NonNullable<FakeBedrockClaudeOptions['reply']>;
}

const DEFAULT_BETAS = ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07', 'token-efficient-tools-2025-02-19', 'fine-grained-tool-streaming-2025-05-14', 'computer-use-2025-01-24'];
const TOP_LEVEL = new Set([
  'anthropic_version',
  'anthropic_beta',
  'max_tokens',
  'messages',
  'system',
  'stop_sequences',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'metadata',
  'output_config',
  'context_management',
]);
const PATH = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens)$/;

export async function startFakeBedrockClaude(opts: FakeBedrockClaudeOptions = {}): Promise<FakeBedrockClaude> {
  const sockets = new Set<Socket>();
  const knownBetas = opts.knownBetas ?? DEFAULT_BETAS;
  let served = 0;
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new BedrockError(500, 'InternalServerException', String(err)));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const fake: FakeBedrockClaude = {
    url: '',
    requests: [],
    faults: [],
    always: undefined,
    reply: opts.reply ?? { text: 'Hello from Claude on fake Bedrock.' },
    openConnections: () => sockets.size,
    close: async () => {
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const match = PATH.exec(req.url ?? '');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text; refused below
    }
    const modelId = match ? decodeURIComponent(match[1]) : '';
    const operation = (match?.[2] ?? 'invoke') as BedrockClaudeRecordedRequest['operation'];
    let invoke = body;
    if (operation === 'count-tokens') {
      const encoded = (body as { input?: { invokeModel?: { body?: string } } } | null)?.input?.invokeModel?.body;
      invoke = typeof encoded === 'string' ? JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) : undefined;
    }
    const recorded: BedrockClaudeRecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body, modelId, operation };
    if (typeof invoke === 'object' && invoke !== null) recorded.invokeBody = invoke as Record<string, unknown>;
    fake.requests.push(recorded);

    if (req.method !== 'POST' || !match) return sendError(res, new BedrockError(404, 'UnknownOperationException', `No route for ${req.method} ${req.url}`));
    const authError = checkSigV4(req.headers.authorization);
    if (authError) return sendError(res, authError);
    if (!recorded.invokeBody) return sendError(res, new BedrockError(400, 'ValidationException', 'Malformed input request, please reformat your input and try again.'));
    const invalid = bedrockRules(recorded.invokeBody, knownBetas) ?? validate({ ...recorded.invokeBody, model: modelId }, undefined);
    if (invalid) return sendError(res, new BedrockError(400, 'ValidationException', invalid));

    const fault = fake.faults.shift() ?? fake.always;
    if (fault?.kind === 'status') return sendError(res, statusError(fault), fault.headers);
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'hang') return;

    const request = { ...recorded.invokeBody, model: modelId } as FakeAnthropicRequest;
    if (operation === 'count-tokens') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
      return void res.end(JSON.stringify({ inputTokens: promptTokens(request) }));
    }
    const reply = typeof fake.reply === 'function' ? fake.reply(request) : fake.reply;
    const message = { ...messageOf(request, reply, modelId, ++served), id: `msg_bdrk_${served}` };
    const usageHeaders = { 'x-amzn-bedrock-input-token-count': String(message.usage.input_tokens), 'x-amzn-bedrock-output-token-count': String(message.usage.output_tokens) };
    if (operation === 'invoke') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...usageHeaders });
      return void res.end(JSON.stringify(message));
    }
    streamChunks(res, sseEventsOf(message), message.usage, fault);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** Bedrock's own checks of an InvokeModel body for Claude, in its words. */
function bedrockRules(body: Record<string, unknown>, knownBetas: readonly string[]): string | undefined {
  if (body.anthropic_version !== 'bedrock-2023-05-31')
    return `Malformed input request: #/anthropic_version: ${JSON.stringify(body.anthropic_version)} is not a valid enum value, please reformat your input and try again.`;
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key)) return `Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`;
  }
  const metadata = body.metadata as Record<string, unknown> | undefined;
  for (const key of Object.keys(metadata ?? {})) if (key !== 'user_id') return `metadata.${key}: Extra inputs are not permitted`;
  const betas = body.anthropic_beta;
  if (betas !== undefined) {
    if (!Array.isArray(betas)) return 'anthropic_beta: Input should be a valid list';
    const unknown = betas.filter((b) => !knownBetas.includes(String(b)));
    if (unknown.length > 0) return `invalid beta flag: ${unknown.join(', ')}`;
  }
  return sourceRule(body.messages);
}

/** Claude on Bedrock takes image and document sources as base64 (or text) only: a URL or a Files API id is refused, as Bedrock says it. */
function sourceRule(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (const [i, m] of (messages as Array<{ content?: unknown }>).entries()) {
    if (!Array.isArray(m.content)) continue;
    for (const [j, block] of (m.content as Array<{ type?: string; source?: { type?: string } }>).entries()) {
      const type = block.source?.type;
      if ((block.type === 'image' || block.type === 'document') && (type === 'url' || type === 'file'))
        return `messages.${i}.content.${j}.${block.type}.source.base64.data: URL sources are not supported`;
    }
  }
  return undefined;
}

/** The Anthropic events as Bedrock streams them: one `chunk` per event, its JSON in base64; faults after N content events. */
function streamChunks(res: ServerResponse, events: ReturnType<typeof sseEventsOf>, usage: { input_tokens: number; output_tokens: number }, fault: Fault | undefined): void {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
  const afterChunks = fault && 'afterChunks' in fault ? fault.afterChunks : undefined;
  let content = 0;
  for (const ev of events) {
    if (ev.name === 'ping') continue; // Bedrock does not relay pings
    let data = ev.data as Record<string, unknown>;
    if (ev.name === 'message_stop') {
      data = { ...data, 'amazon-bedrock-invocationMetrics': { inputTokenCount: usage.input_tokens, outputTokenCount: usage.output_tokens, invocationLatency: 5, firstByteLatency: 2 } };
    }
    res.write(eventFrame('chunk', { bytes: Buffer.from(JSON.stringify(data)).toString('base64') }));
    if (!ev.content) continue;
    content++;
    if (afterChunks === undefined || content !== afterChunks) continue;
    if (fault?.kind === 'cut') return void res.write(new Uint8Array(0), () => res.socket?.destroy());
    if (fault?.kind === 'stall') return;
    if (fault?.kind === 'stream-error') return void res.end(exceptionFrame(fault.code, fault.message));
  }
  res.end();
}
