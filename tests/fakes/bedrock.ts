/**
 * A fake Amazon Bedrock Runtime on loopback that speaks the real wire protocol: Converse
 * JSON, ConverseStream as an AWS event stream (encoded by the AWS codec), InvokeModel for
 * the embeddings models (bedrock-invoke.ts), Bedrock's
 * error shape (`x-amzn-errortype` + `{"message"}`) and its request validation rules.
 * Also ApplyGuardrail (`POST /guardrail/{id}/version/{version}/apply`) with a small policy
 * per guardrail: blocked words (word policy) and e-mail anonymization (PII policy).
 * Driven in tests by the real @aws-sdk/client-bedrock-runtime.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { invokeModel } from './bedrock-invoke';
import type { Fault, FakeServer, RecordedRequest } from './fault';

export interface FakeToolCall {
  /** Defaults to `tooluse_<name>_<n>`. */
  id?: string;
  name: string;
  input: Record<string, unknown>;
}

/** What the fake model answers: text, tool calls, or both (text first, as models do). */
export interface FakeBedrockReply {
  /** Claude's reasoning, answered first (a `reasoningContent` block with its signature) only when the request turns thinking on. */
  reasoning?: string;
  text?: string;
  toolCalls?: FakeToolCall[];
  /** Defaults to `tool_use` with tool calls, else `end_turn`. */
  stopReason?: string;
  usage?: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number };
}

export type FakeBedrockReplySource = FakeBedrockReply | ((req: BedrockRecordedRequest) => FakeBedrockReply);

export interface BedrockRecordedRequest extends RecordedRequest {
  /** URL-decoded model id from the path ('' for ApplyGuardrail). */
  modelId: string;
  operation: 'converse' | 'converse-stream' | 'invoke' | 'apply-guardrail';
  /** ApplyGuardrail: the URL-decoded guardrail identifier and version from the path. */
  guardrailId?: string;
  guardrailVersion?: string;
}

/** What one fake guardrail does, the way a Bedrock guardrail's policies would. */
export interface FakeGuardrailPolicy {
  /** Word policy: these words (case-insensitive) block the input. */
  blockedWords?: string[];
  /** Sensitive-information policy: e-mail addresses are anonymized as `{EMAIL}`. */
  anonymizeEmails?: boolean;
  /** The guardrail's blocked-input message (Bedrock's console default when unset). */
  blockedMessage?: string;
}

export interface FakeBedrockOptions {
  reply?: FakeBedrockReplySource;
  /** Models that refuse a conversation ending with an assistant turn (no prefill), as some Bedrock models do. */
  rejectPrefill?: boolean;
  /** Guardrails by identifier, for ApplyGuardrail (any version of a known id is served). */
  guardrails?: Record<string, FakeGuardrailPolicy>;
}

export interface FakeBedrock extends FakeServer {
  readonly requests: BedrockRecordedRequest[];
  /** Changeable between requests. */
  reply: FakeBedrockReplySource;
  rejectPrefill: boolean;
  /** Changeable between requests. */
  guardrails: Record<string, FakeGuardrailPolicy>;
  /** TCP connections accepted since start (keep-alive reuse keeps this low). */
  totalConnections(): number;
}

export const DEFAULT_REPLY_TEXT = 'Hello from fake Bedrock.';

const ERRORTYPE_SUFFIX = ':http://internal.amazon.com/coral/com.amazon.bedrock/';
const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/[a-z0-9-]+\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;

const NAME_BY_STATUS: Record<number, string> = {
  400: 'ValidationException',
  401: 'AccessDeniedException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

const DEFAULT_MESSAGE: Record<string, string> = {
  ThrottlingException: 'Too many requests, please wait before trying again.',
  ValidationException: 'Malformed input request, please reformat your input and try again.',
  AccessDeniedException: "You don't have access to the model with the specified model ID.",
  ResourceNotFoundException: 'Could not resolve the foundation model from the provided model identifier.',
  ModelTimeoutException: 'Model has timed out in processing the request. Try your request again.',
  ModelErrorException: 'The system encountered an unexpected error during processing. Try your request again.',
  ModelNotReadyException: 'Model is not ready to serve inference requests. Try again later.',
  ServiceQuotaExceededException: 'Your request exceeds the service quota for your account.',
  InternalServerException: 'The server encountered an internal error while processing the request.',
  ServiceUnavailableException: 'Bedrock is unable to process your request.',
};

const STREAM_EXCEPTIONS = ['throttlingException', 'internalServerException', 'modelStreamErrorException', 'serviceUnavailableException', 'validationException'];

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

interface StreamEvent {
  type: string;
  payload: Record<string, unknown>;
  /** A content delta: what `afterChunks` in a fault counts. */
  content?: boolean;
}

export class BedrockError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeBedrock(opts: FakeBedrockOptions = {}): Promise<FakeBedrock> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let accepted = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new BedrockError(500, 'InternalServerException', String(err)));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const fake: FakeBedrock = {
    url: '',
    requests: [],
    faults: [],
    always: undefined,
    reply: opts.reply ?? { text: DEFAULT_REPLY_TEXT },
    rejectPrefill: opts.rejectPrefill ?? false,
    guardrails: opts.guardrails ?? {},
    openConnections: () => sockets.size,
    totalConnections: () => accepted,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const wait = (ms: number, req: IncomingMessage) =>
    new Promise<boolean>((resolve) => {
      const onClose = () => {
        clearTimeout(t);
        timers.delete(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        timers.delete(t);
        req.socket.off('close', onClose);
        resolve(true);
      }, ms);
      timers.add(t);
      req.socket.once('close', onClose);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const guardrailPath = GUARDRAIL_PATH.exec(req.url ?? '');
    if (guardrailPath) return applyGuardrail(req, res, raw, decodeURIComponent(guardrailPath[1]), decodeURIComponent(guardrailPath[2]));
    const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(req.url ?? '');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text; rejected below
    }
    const recorded: BedrockRecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      body,
      modelId: match ? decodeURIComponent(match[1]) : '',
      operation: match?.[2] === 'converse-stream' || match?.[2] === 'invoke' ? match[2] : 'converse',
    };
    fake.requests.push(recorded);

    if (req.method !== 'POST' || !match) return sendError(res, new BedrockError(404, 'UnknownOperationException', `No route for ${req.method} ${req.url}`));
    const authError = checkSigV4(req.headers.authorization);
    if (authError) return sendError(res, authError);
    if (typeof body !== 'object' || body === null) return sendError(res, new BedrockError(400, 'SerializationException', 'Request body is not valid JSON.'));
    // InvokeModel: the model's own body, checked (and answered) by the model.
    const invoked = recorded.operation === 'invoke' ? invokeModel(recorded.modelId, body as Record<string, unknown>) : undefined;
    const invalid = invoked ? (invoked.ok ? undefined : invoked.message) : (validateConverse(body, recorded.modelId) ?? (fake.rejectPrefill ? prefillRefusal(body) : undefined));
    if (invalid) return sendError(res, new BedrockError(400, 'ValidationException', invalid));

    const fault = fake.faults.shift() ?? fake.always;
    if (fault?.kind === 'delay' && !(await wait(fault.ms, req))) return;
    if (fault?.kind === 'status') return sendError(res, statusError(fault), fault.headers);
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'garbage') return garbage(res, recorded.operation);
    if (fault?.kind === 'wrong-content-type') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    }

    if (invoked?.ok) return invokeAnswer(res, invoked.body, invoked.inputTokens, fault);
    const reply = typeof fake.reply === 'function' ? fake.reply(recorded) : fake.reply;
    if (recorded.operation === 'converse') return converse(res, reply, body, fault);
    return converseStream(res, reply, body, fault);
  }

  async function applyGuardrail(req: IncomingMessage, res: ServerResponse, raw: string, guardrailId: string, guardrailVersion: string): Promise<void> {
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text; rejected below
    }
    fake.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      body,
      modelId: '',
      operation: 'apply-guardrail',
      guardrailId,
      guardrailVersion,
    });
    if (req.method !== 'POST') return sendError(res, new BedrockError(404, 'UnknownOperationException', `No route for ${req.method} ${req.url}`));
    const authError = checkSigV4(req.headers.authorization);
    if (authError) return sendError(res, authError);
    if (typeof body !== 'object' || body === null) return sendError(res, new BedrockError(400, 'SerializationException', 'Request body is not valid JSON.'));
    const invalid = validateApplyGuardrail(body, guardrailVersion);
    if (invalid) return sendError(res, new BedrockError(400, 'ValidationException', invalid));
    const policy = fake.guardrails[guardrailId];
    if (!policy) return sendError(res, new BedrockError(404, 'ResourceNotFoundException', 'The guardrail identifier or version provided in the request does not exist.'));

    const fault = fake.faults.shift() ?? fake.always;
    if (fault?.kind === 'delay' && !(await wait(fault.ms, req))) return;
    if (fault?.kind === 'status') return sendError(res, statusError(fault), fault.headers);
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'hang') return;
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    res.end(
      JSON.stringify(
        guardrailVerdict(
          policy,
          (body as ApplyGuardrailBody).content!.map((c) => c.text!.text as string),
        ),
      ),
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

// ---------------------------------------------------------------------------------------
// Answers

function converse(res: ServerResponse, reply: FakeBedrockReply, body: ConverseBody, fault: Fault | undefined): void {
  const content: unknown[] = [];
  const reasoning = reasoningOf(reply, body);
  if (reasoning) content.push({ reasoningContent: { reasoningText: { text: reasoning, signature: reasoningSignature(reasoning) } } });
  if (reply.text) content.push({ text: reply.text });
  toolCallsOf(reply).forEach((c) => content.push({ toolUse: { toolUseId: c.id, name: c.name, input: c.input } }));
  const answer = JSON.stringify({
    output: { message: { role: 'assistant', content } },
    stopReason: stopReasonOf(reply),
    usage: usageOf(reply, body),
    metrics: { latencyMs: 1 },
  });
  res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
  // On a JSON answer, `cut` and `stall` act on its body (part of it, then a cut or nothing
  // more); the other stream-only faults do not apply and the answer is whole.
  if (fault?.kind === 'cut') return void res.write(answer.slice(0, answer.length >> 1), () => res.socket?.destroy());
  if (fault?.kind === 'stall') return void res.write(answer.slice(0, answer.length >> 1));
  res.end(answer);
}

/** An InvokeModel answer: the model's JSON, and Bedrock's headers with the token count. */
function invokeAnswer(res: ServerResponse, body: string, inputTokens: number, fault: Fault | undefined): void {
  res.writeHead(200, {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-bedrock-input-token-count': String(inputTokens),
    'x-amzn-bedrock-invocation-latency': '9',
  });
  if (fault?.kind === 'cut') return void res.write(body.slice(0, body.length >> 1), () => res.socket?.destroy());
  if (fault?.kind === 'stall') return void res.write(body.slice(0, body.length >> 1));
  res.end(body);
}

function converseStream(res: ServerResponse, reply: FakeBedrockReply, body: ConverseBody, fault: Fault | undefined): void {
  const events = streamEvents(reply, body);
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': randomUUID(),
    ...(fault?.kind === 'no-terminator' ? { connection: 'close' } : {}),
  });
  const afterChunks = fault && 'afterChunks' in fault ? fault.afterChunks : undefined;
  let contentSent = 0;
  let faulted = false;
  for (const ev of events) {
    if (afterChunks !== undefined && !faulted && ev.type !== 'messageStart' && contentSent >= afterChunks) {
      faulted = true;
      if (fault?.kind === 'cut') return void res.write(new Uint8Array(0), () => res.socket?.destroy());
      if (fault?.kind === 'stall') return;
      if (fault?.kind === 'stream-error') return void res.end(exceptionFrame(fault.code, fault.message));
      if (fault?.kind === 'malformed') res.write(malformedFrame());
    }
    // The whole answer, messageStop included, but never the closing metadata (usage).
    if (fault?.kind === 'no-terminator' && ev.type === 'metadata') break;
    res.write(eventFrame(ev.type, ev.payload));
    if (ev.content) contentSent += 1;
  }
  res.end();
}

function toolCallsOf(reply: FakeBedrockReply): Required<FakeToolCall>[] {
  return (reply.toolCalls ?? []).map((c, i) => ({ ...c, id: c.id ?? `tooluse_${c.name}_${i}` }));
}

function stopReasonOf(reply: FakeBedrockReply): string {
  return reply.stopReason ?? ((reply.toolCalls?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
}

/** The reasoning the answer carries: only for a request with thinking on, as Claude thinks only then. */
function reasoningOf(reply: FakeBedrockReply, body: ConverseBody): string | undefined {
  return body.additionalModelRequestFields?.thinking?.type === 'enabled' ? reply.reasoning : undefined;
}

function reasoningSignature(text: string): string {
  return `sig_${Buffer.from(text).toString('base64url').slice(0, 24)}`;
}

function usageOf(reply: FakeBedrockReply, body: ConverseBody): Record<string, number> {
  const u = reply.usage ?? {
    // Deterministic stand-ins: about 4 characters a token; Claude counts its reasoning as output.
    inputTokens: Math.ceil(JSON.stringify(body.messages ?? []).length / 4),
    outputTokens: Math.ceil(((reasoningOf(reply, body)?.length ?? 0) + (reply.text?.length ?? 0) + JSON.stringify(reply.toolCalls ?? []).length) / 4),
  };
  const total = u.inputTokens + u.outputTokens + (u.cacheReadInputTokens ?? 0) + (u.cacheWriteInputTokens ?? 0);
  return { ...u, totalTokens: total };
}

/** Text as word deltas, then each tool call as start + input fragments + stop, as Bedrock streams them. */
function streamEvents(reply: FakeBedrockReply, body: ConverseBody): StreamEvent[] {
  const events: StreamEvent[] = [{ type: 'messageStart', payload: { role: 'assistant' } }];
  let block = 0;
  const reasoning = reasoningOf(reply, body);
  if (reasoning) {
    for (const piece of reasoning.match(/\S+\s*|\s+/g) ?? []) {
      events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex: block, delta: { reasoningContent: { text: piece } } }, content: true });
    }
    events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex: block, delta: { reasoningContent: { signature: reasoningSignature(reasoning) } } }, content: true });
    events.push({ type: 'contentBlockStop', payload: { contentBlockIndex: block } });
    block += 1;
  }
  if (reply.text) {
    for (const piece of reply.text.match(/\S+\s*|\s+/g) ?? []) {
      events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex: block, delta: { text: piece } }, content: true });
    }
    events.push({ type: 'contentBlockStop', payload: { contentBlockIndex: block } });
    block += 1;
  }
  for (const call of toolCallsOf(reply)) {
    events.push({ type: 'contentBlockStart', payload: { contentBlockIndex: block, start: { toolUse: { toolUseId: call.id, name: call.name } } } });
    const json = JSON.stringify(call.input);
    for (let at = 0; at < json.length; at += 10) {
      events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex: block, delta: { toolUse: { input: json.slice(at, at + 10) } } }, content: true });
    }
    events.push({ type: 'contentBlockStop', payload: { contentBlockIndex: block } });
    block += 1;
  }
  events.push({ type: 'messageStop', payload: { stopReason: stopReasonOf(reply) } });
  events.push({ type: 'metadata', payload: { usage: usageOf(reply, body), metrics: { latencyMs: 1 } } });
  // Bedrock pads some events with a random field `p` (length hiding); ours is deterministic.
  events.forEach((ev, i) => {
    if (ev.type === 'contentBlockDelta' || ev.type === 'messageStop') ev.payload.p = PADDING.slice(0, 1 + ((i * 7) % PADDING.length));
  });
  return events;
}

/** One AWS event stream message: string headers, JSON (or, for `malformed`, broken) payload. */
function frame(headers: Record<string, string>, payload: string): Uint8Array {
  return codec.encode({
    headers: Object.fromEntries(Object.entries(headers).map(([k, value]) => [k, { type: 'string' as const, value }])),
    body: new Uint8Array(Buffer.from(payload, 'utf8')),
  });
}

export function eventFrame(type: string, payload: unknown): Uint8Array {
  return frame({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(payload));
}

/** `code` may name the exception either way (`throttlingException` or `ThrottlingException`). */
export function exceptionFrame(code: string | undefined, message: string | undefined): Uint8Array {
  const wanted = code ? code[0].toLowerCase() + code.slice(1) : 'modelStreamErrorException';
  const type = STREAM_EXCEPTIONS.includes(wanted) ? wanted : 'modelStreamErrorException';
  const name = type[0].toUpperCase() + type.slice(1);
  const text = message ?? DEFAULT_MESSAGE[name] ?? 'The model stream failed.';
  const payload = type === 'modelStreamErrorException' ? { message: text, originalStatusCode: 500, originalMessage: text } : { message: text };
  return frame({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' }, JSON.stringify(payload));
}

/** A well-framed content delta whose payload is not JSON. */
function malformedFrame(): Uint8Array {
  return frame({ ':event-type': 'contentBlockDelta', ':content-type': 'application/json', ':message-type': 'event' }, '{"contentBlockIndex":0,"delta":{"text":"MALFORMED');
}

function garbage(res: ServerResponse, operation: BedrockRecordedRequest['operation']): void {
  if (operation !== 'converse-stream') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{"output":{"message":{"role":"assistant","content":[{"text":"unterminated');
  }
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
  res.end(Buffer.from('this is not an AWS event stream, just some bytes from somewhere\n'));
}

// ---------------------------------------------------------------------------------------
// ApplyGuardrail

const GUARDRAIL_PATH = /^\/guardrail\/([^/]+)\/version\/([^/]+)\/apply$/;
const DEFAULT_BLOCKED_MESSAGE = 'Sorry, the model cannot answer this question.';
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

interface ApplyGuardrailBody {
  source?: string;
  content?: Array<{ text?: { text?: unknown } }>;
}

function validateApplyGuardrail(body: ApplyGuardrailBody, version: string): string | undefined {
  if (!/^(DRAFT|[1-9][0-9]{0,7})$/.test(version)) return `1 validation error detected: Value '${version}' at 'guardrailVersion' failed to satisfy constraint.`;
  if (body.source !== 'INPUT' && body.source !== 'OUTPUT')
    return "1 validation error detected: Value at 'source' failed to satisfy constraint: Member must satisfy enum value set: [INPUT, OUTPUT]";
  if (!Array.isArray(body.content) || body.content.length === 0) return "1 validation error detected: Value at 'content' failed to satisfy constraint: Member must not be empty";
  if (body.content.some((c) => typeof c?.text?.text !== 'string')) return 'Each content block must be a text block with a text string.';
  return undefined;
}

/** Blocked words win (one output: the blocked message); else e-mails anonymized (one output per block). */
function guardrailVerdict(policy: FakeGuardrailPolicy, texts: string[]): Record<string, unknown> {
  const chars = texts.reduce((n, t) => n + t.length, 0);
  const usage = {
    topicPolicyUnits: 0,
    contentPolicyUnits: 0,
    wordPolicyUnits: Math.ceil(chars / 1000),
    sensitiveInformationPolicyUnits: 0,
    sensitiveInformationPolicyFreeUnits: Math.ceil(chars / 1000),
    contextualGroundingPolicyUnits: 0,
  };
  const coverage = { textCharacters: { guarded: chars, total: chars } };
  const metrics = { guardrailProcessingLatency: 1, usage, guardrailCoverage: coverage };
  const words = (policy.blockedWords ?? []).filter((w) => texts.some((t) => t.toLowerCase().includes(w.toLowerCase())));
  if (words.length > 0) {
    return {
      usage,
      action: 'GUARDRAIL_INTERVENED',
      actionReason: 'Guardrail blocked.',
      outputs: [{ text: policy.blockedMessage ?? DEFAULT_BLOCKED_MESSAGE }],
      assessments: [{ wordPolicy: { customWords: words.map((match) => ({ match, action: 'BLOCKED', detected: true })) }, invocationMetrics: metrics }],
      guardrailCoverage: coverage,
    };
  }
  const emails = policy.anonymizeEmails ? texts.flatMap((t) => t.match(EMAIL) ?? []) : [];
  if (emails.length > 0) {
    return {
      usage,
      action: 'GUARDRAIL_INTERVENED',
      actionReason: 'Guardrail masked.',
      outputs: texts.map((t) => ({ text: t.replace(EMAIL, '{EMAIL}') })),
      assessments: [
        {
          sensitiveInformationPolicy: { piiEntities: emails.map((match) => ({ match, type: 'EMAIL', action: 'ANONYMIZED', detected: true })) },
          invocationMetrics: metrics,
        },
      ],
      guardrailCoverage: coverage,
    };
  }
  return { usage, action: 'NONE', actionReason: 'No action.', outputs: [], assessments: [{ invocationMetrics: metrics }], guardrailCoverage: coverage };
}

// ---------------------------------------------------------------------------------------
// Errors and request checks

export function sendError(res: ServerResponse, err: BedrockError, headers: Record<string, string> = {}): void {
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${err.type}${ERRORTYPE_SUFFIX}`,
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(JSON.stringify({ message: err.message }));
}

export function statusError(fault: Extract<Fault, { kind: 'status' }>): BedrockError {
  // Other fakes' vocabulary: a context-length code becomes Bedrock's own way of saying it.
  if (fault.code === 'context_length_exceeded') {
    return new BedrockError(fault.status, 'ValidationException', fault.message ?? 'Input is too long for requested model.');
  }
  const type = fault.code?.endsWith('Exception') ? fault.code : (NAME_BY_STATUS[fault.status] ?? (fault.status >= 500 ? 'InternalServerException' : 'ValidationException'));
  return new BedrockError(fault.status, type, fault.message ?? DEFAULT_MESSAGE[type] ?? type);
}

export function checkSigV4(authorization: string | undefined): BedrockError | undefined {
  if (!authorization) return new BedrockError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = SIGV4.exec(authorization);
  if (!m) return new BedrockError(403, 'IncompleteSignatureException', 'Authorization header is not a valid AWS SigV4 signature.');
  if (m[1] !== 'bedrock') return new BedrockError(403, 'InvalidSignatureException', "Credential should be scoped to correct service: 'bedrock'.");
  return undefined;
}

interface ConverseBody {
  messages?: Array<{ role?: string; content?: Array<Record<string, unknown>> }>;
  system?: Array<{ text?: string }>;
  toolConfig?: { tools?: Array<{ toolSpec?: { name?: string } }>; toolChoice?: { tool?: { name?: string }; any?: object } };
  outputConfig?: { textFormat?: { type?: string; structure?: { jsonSchema?: { schema?: unknown; name?: string } } } };
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number };
  additionalModelRequestFields?: { thinking?: { type?: string; budget_tokens?: unknown } };
}

/** Converse image limits (the SDK's Message documentation): 20 images, 3.75 MB each. */
const MAX_IMAGES = 20;
const MAX_IMAGE_BYTES = 3.75 * 1024 * 1024;

/** An image block as real Bedrock checks it: a known format, bytes (base64 in JSON), within the size limit. */
function imageProblem(block: Record<string, unknown>, at: string): string | undefined {
  const image = block.image as { format?: string; source?: { bytes?: unknown } } | undefined;
  if (!image) return undefined;
  if (!['png', 'jpeg', 'gif', 'webp'].includes(image.format ?? '')) return `${at}.image.format: Value '${image.format}' is not valid; valid values: png, jpeg, gif, webp.`;
  const bytes = image.source?.bytes;
  if (typeof bytes !== 'string' || bytes === '') return `${at}.image.source: Only bytes sources are supported by this model.`;
  if (Buffer.from(bytes, 'base64').length > MAX_IMAGE_BYTES) return `${at}.image.source.bytes: Image exceeds max size of 3.75 MB.`;
  return undefined;
}

/** outputConfig.textFormat as Bedrock checks it: type json_schema with a schema that is a JSON string. */
function outputConfigProblem(body: ConverseBody): string | undefined {
  const format = body.outputConfig?.textFormat;
  if (!format) return undefined;
  if (format.type !== 'json_schema') return `outputConfig.textFormat.type: Value '${format.type}' is not valid.`;
  const schema = format.structure?.jsonSchema?.schema;
  if (typeof schema !== 'string') return 'outputConfig.textFormat.structure.jsonSchema.schema: must be a string.';
  try {
    JSON.parse(schema);
  } catch {
    return 'outputConfig.textFormat.structure.jsonSchema.schema: is not valid JSON.';
  }
  return undefined;
}

function prefillRefusal(body: ConverseBody): string | undefined {
  const last = body.messages?.at(-1);
  return last?.role === 'assistant' ? 'This model does not support assistant message prefill. The conversation must end with a user message.' : undefined;
}

/** The Converse rules real Bedrock enforces with a ValidationException, in its words. */
function validateConverse(body: ConverseBody, modelId: string): string | undefined {
  const messages = body.messages ?? [];
  if (messages.length === 0) return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
  for (const [i, s] of (body.system ?? []).entries()) {
    if (s.text !== undefined && s.text.trim() === '') return `The text field in the SystemContentBlock object at system.${i} is blank. Add text to the text field, and try again.`;
  }
  let toolBlocks = false;
  let images = 0;
  for (const [i, m] of messages.entries()) {
    for (const [j, block] of (m.content ?? []).entries()) {
      if (!block.image) continue;
      if (m.role !== 'user') return `messages.${i}.content.${j}: images are only allowed in user messages.`;
      images++;
      const problem = imageProblem(block, `messages.${i}.content.${j}`);
      if (problem) return problem;
    }
    if (i === 0 && m.role !== 'user') return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
    if (i > 0 && m.role === messages[i - 1].role) {
      return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    }
    if (!m.content || m.content.length === 0) return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    for (const [j, block] of m.content.entries()) {
      if (typeof block.text === 'string' && block.text.trim() === '') {
        return `The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`;
      }
      const result = block.toolResult as { toolUseId?: string } | undefined;
      if (block.toolUse || result) toolBlocks = true;
      if (result) {
        const previous = i > 0 ? (messages[i - 1].content ?? []) : [];
        const ids = previous.map((b) => (b.toolUse as { toolUseId?: string } | undefined)?.toolUseId);
        if (!ids.includes(result.toolUseId)) {
          return `messages.${i}.content.${j}: toolResult ${result.toolUseId} does not answer a toolUse in the previous assistant turn.`;
        }
      }
    }
  }
  const toolNames = (body.toolConfig?.tools ?? []).map((t) => t.toolSpec?.name);
  if (toolBlocks && toolNames.length === 0) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  const chosen = body.toolConfig?.toolChoice?.tool?.name;
  if (chosen !== undefined && !toolNames.includes(chosen)) return `The tool ${chosen} named in toolChoice is not in toolConfig.tools.`;
  if (images > MAX_IMAGES) return `Too many images: ${images}; a request takes at most ${MAX_IMAGES}.`;
  return thinkingProblem(body, modelId) ?? outputConfigProblem(body);
}

/** Claude's rules for extended thinking, as Bedrock passes on Claude's own refusal. */
function thinkingProblem(body: ConverseBody, modelId: string): string | undefined {
  const thinking = body.additionalModelRequestFields?.thinking;
  if (thinking === undefined) return undefined;
  if (!/(^|[./])anthropic\./.test(modelId))
    return 'The model returned the following errors: Malformed input request: extraneous key [thinking] is not permitted, please reformat your input and try again.';
  if (thinking.type !== 'enabled') return undefined;
  const claude = (text: string) => `The model returned the following errors: ${text}`;
  const budget = thinking.budget_tokens;
  if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1024) return claude('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
  const inference = body.inferenceConfig ?? {};
  if ((inference.maxTokens ?? 4096) <= budget) return claude('`max_tokens` must be greater than `thinking.budget_tokens`.');
  if (inference.temperature !== undefined && inference.temperature !== 1) return claude('`temperature` may only be set to 1 when thinking is enabled.');
  if (inference.topP !== undefined && inference.topP < 0.95) return claude('`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.');
  const choice = body.toolConfig?.toolChoice;
  if (choice?.any || choice?.tool) return claude('Thinking may not be enabled when tool_choice forces tool use.');
  const messages = body.messages ?? [];
  const lastAssistant = messages.findLast((m) => m.role === 'assistant');
  const blocks = lastAssistant?.content ?? [];
  if (blocks.some((b) => b.toolUse) && !blocks[0]?.reasoningContent) {
    return claude('Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.');
  }
  if (messages.at(-1)?.role === 'assistant') return claude('A final assistant message (prefill) is not supported when thinking is enabled.');
  return undefined;
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
