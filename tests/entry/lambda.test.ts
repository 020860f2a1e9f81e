/**
 * The Lambda entry with real API Gateway REST proxy event shapes, buffered and streamed.
 * The Lambda proxy forwards to a real spoke gateway on loopback.
 */
import { expect } from '@jest/globals';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';
import type { ChatCompletion, ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import type { ErrorBody } from '../helpers/gateway';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startFakeSsm, type FakeParameter, type FakeSsm } from '../fakes/ssm';
import { useFakeAwsCredentials } from '../helpers/aws-credentials';
import { until } from '../helpers/until';

type Result = { statusCode: number; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]>; body: string };
type Handler = (event: unknown, context?: unknown) => Promise<Result>;

/** API Gateway accepts either header map in a proxy result. */
const header = (res: Result, name: string) => res.headers?.[name] ?? res.multiValueHeaders?.[name]?.[0];

/** An API Gateway REST API (v1) AWS_PROXY event, as API Gateway sends it for `/{proxy+}`. */
function restEvent(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const h = {
    Accept: '*/*',
    Host: 'abc123.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'OpenAI/JS 6.0',
    'X-Forwarded-For': '203.0.113.9',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...headers,
  };
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers: h,
    multiValueHeaders: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resourceId: 'x1y2z3',
      resourcePath: '/{proxy+}',
      httpMethod: method,
      extendedRequestId: 'Ab1CdEFGhIjKlMn=',
      requestTime: '24/Nov/2026:23:10:00 +0000',
      path: `/prod${path}`,
      accountId: '111122223333',
      protocol: 'HTTP/1.1',
      stage: 'prod',
      domainPrefix: 'abc123',
      requestTimeEpoch: 1795561800000,
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: {
        sourceIp: '203.0.113.9',
        apiKeyId: 'k-team-a',
        apiKey: 'redacted',
        userAgent: 'OpenAI/JS 6.0',
        accountId: null,
        caller: null,
        user: null,
        userArn: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        accessKey: null,
        principalOrgId: null,
      },
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      apiId: 'abc123',
    },
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const lambdaContext = { functionName: 'ai-gateway-proxy', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 };

/** A Lambda context whose function times out `ms` from now (the runtime counts down from the invocation's start). */
function contextEnding(ms: number) {
  const end = Date.now() + ms;
  return { ...lambdaContext, getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

/**
 * What the gateway writes to stdout (log and EMF lines; in Lambda with fs.writeSync, so they
 * are out before the handler settles), parsed, until `restore`.
 */
function captureStdout(): { lines: Array<Record<string, unknown>>; restore: () => void } {
  const lines: Array<Record<string, unknown>> = [];
  const realWriteSync = fs.writeSync;
  const spy = jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: never[]) => {
    if (fd !== 1) return (realWriteSync as (...a: unknown[]) => number)(fd, data, ...rest);
    const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    for (const line of text.split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  }) as typeof fs.writeSync);
  return { lines, restore: () => spy.mockRestore() };
}

/** The streamed answer's metadata prelude and body. */
function streamed(written: Buffer[]): { metadata: { statusCode: number; headers: Record<string, string> }; body: string } {
  const all = Buffer.concat(written);
  const split = all.indexOf(Buffer.alloc(8));
  return { metadata: JSON.parse(all.subarray(0, split).toString()) as { statusCode: number; headers: Record<string, string> }, body: all.subarray(split + 8).toString() };
}

/** The proxy's config: its spoke, a chat model and an embeddings model. */
const proxyConfig = (spokeUrl: string) => ({
  spokes: [{ id: 'spoke-a', url: spokeUrl }],
  models: [
    { name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] },
    { name: 'embed', api: 'embeddings', targets: [{ provider: 'spokes', model: 'embed' }] },
  ],
});

function loadHandler(spokeUrl: string): Handler {
  process.env.GATEWAY_CONFIG_JSON = JSON.stringify(proxyConfig(spokeUrl));
  return freshHandler();
}

/** The config sources the environments of these tests poll: stopped after the tests, or their polls go on failing in the test process. */
const polls: { stop(): void }[] = [];
afterAll(() => polls.forEach((p) => p.stop()));

/** The handler of a new execution environment, as the environment configures it; a streaming one is invoked as the runtime does, with a response stream of `streamingRuntime`'s. */
function freshHandler(): Handler {
  process.env.GATEWAY_ROLE = 'proxy';
  let handler: Handler | StreamingHandler | undefined;
  jest.isolateModules(() => {
    // The environment's config polls, to stop once the tests are done (Lambda freezes them instead).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module instance the handler below loads
    const { SsmConfigSource } = require('../../runtime/src/config/watch') as typeof import('../../runtime/src/config/watch');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the instance as `this`
    const start = SsmConfigSource.prototype.start;
    jest.spyOn(SsmConfigSource.prototype, 'start').mockImplementation(function (this: InstanceType<typeof SsmConfigSource>, onText) {
      polls.push(this);
      start.call(this, onText);
    });
    // A fresh module: the handler reads its environment when it loads.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules needs a synchronous load
    handler = (require('../../runtime/src/lambda') as typeof import('../../runtime/src/lambda')).handler as Handler;
  });
  const h = handler!;
  if ((h as unknown as Record<symbol, unknown>)[STREAMING] !== 'response') return h as Handler;
  return ((event: unknown, context: unknown) => (h as StreamingHandler)(event, responseStream!(), context)) as unknown as Handler;
}

type StreamingHandler = (event: unknown, responseStream: Writable, context: unknown) => Promise<void>;
/** How the Node.js runtime marks a streaming handler (streamifyResponse returns the handler itself, marked). */
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
/** The current streaming runtime's response stream for the next invocation. */
let responseStream: (() => Writable) | undefined;

/**
 * The Lambda Node.js runtime's streaming globals (`awslambda`): the handler writes a
 * metadata prelude, 8 NUL bytes, then the body; what it writes is collected here. With
 * `failAfter`, the response stream fails on its write after that many (the caller gone).
 */
function streamingRuntime(failAfter = Infinity): Buffer[] {
  const written: Buffer[] = [];
  responseStream = () =>
    new Writable({
      write(chunk, _enc, cb) {
        if (written.length >= failAfter) return cb(new Error('The client closed the connection.'));
        written.push(Buffer.from(chunk as Uint8Array));
        cb();
      },
    });
  (globalThis as { awslambda?: unknown }).awslambda = {
    streamifyResponse: (fn: StreamingHandler) => Object.assign(fn, { [STREAMING]: 'response' }),
    HttpResponseStream: {
      from: (s: Writable, metadata: unknown) => {
        s.write(JSON.stringify(metadata));
        s.write(Buffer.alloc(8));
        return s;
      },
    },
  };
  return written;
}

describe('Lambda entry (API Gateway REST proxy events)', () => {
  let spoke: TestGateway;
  beforeAll(async () => {
    const sim = simulatedConfig();
    spoke = await startGateway({ ...sim, models: [...sim.models!, { name: 'embed', api: 'embeddings', targets: [{ provider: 'sim', model: 'sim-embed' }] }] }, 'spoke');
  });
  afterAll(async () => {
    await spoke.close();
    delete process.env.GATEWAY_CONFIG_JSON;
    delete process.env.GATEWAY_ROLE;
    delete (globalThis as { awslambda?: unknown }).awslambda;
  });

  it('answers a chat completion through the spoke, with route headers', async () => {
    const handler = loadHandler(spoke.url);
    const res = await handler(restEvent('POST', '/v1/chat/completions', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }), lambdaContext);
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body) as ChatCompletion;
    expect(body.object).toBe('chat.completion');
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(header(res, 'x-gateway-route')).toBe('sim/acct-1/local/sim-model');
    expect(header(res, 'x-gateway-attempts')).toBe('1');
    expect(header(res, 'x-request-id')).toBe('c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
  });

  it("answers embeddings through the spoke, float and base64 alike, and the spoke's 400s", async () => {
    const handler = loadHandler(spoke.url);
    const float = await handler(restEvent('POST', '/v1/embeddings', { model: 'embed', input: ['a', 'b'], encoding_format: 'float', dimensions: 16 }), lambdaContext);
    expect(float.statusCode).toBe(200);
    expect(header(float, 'content-type')).toBe('application/json');
    expect(header(float, 'x-gateway-route')).toBe('sim/acct-1/local/sim-embed');
    const floats = JSON.parse(float.body) as { object: string; data: Array<{ index: number; embedding: number[] }>; usage: { prompt_tokens: number } };
    expect(floats.object).toBe('list');
    expect(floats.data.map((d) => [d.index, d.embedding.length])).toEqual([
      [0, 16],
      [1, 16],
    ]);
    const b64 = await handler(restEvent('POST', '/v1/embeddings', { model: 'embed', input: ['a', 'b'], encoding_format: 'base64', dimensions: 16 }), lambdaContext);
    const encoded = (JSON.parse(b64.body) as { data: Array<{ embedding: string }> }).data.map((d) => d.embedding);
    expect(encoded).toEqual(floats.data.map((d) => Buffer.from(new Float32Array(d.embedding).buffer).toString('base64')));
    const bad = await handler(restEvent('POST', '/v1/embeddings', { model: 'embed', input: ['a', ''] }), lambdaContext);
    expect(bad.statusCode).toBe(400);
    expect((JSON.parse(bad.body) as ErrorBody).error.param).toBe('input[1]');
    const wrong = await handler(restEvent('POST', '/v1/embeddings', { model: 'chat', input: 'a' }), lambdaContext);
    expect(wrong.statusCode).toBe(400);
    expect((JSON.parse(wrong.body) as ErrorBody).error.param).toBe('model');
  });

  it('answers bad input and unknown routes in the OpenAI error shape', async () => {
    const handler = loadHandler(spoke.url);
    const bad = await handler(restEvent('POST', '/v1/chat/completions', { model: 'chat', messages: [] }), lambdaContext);
    expect(bad.statusCode).toBe(400);
    expect((JSON.parse(bad.body) as ErrorBody).error.param).toBe('messages');
    const models = await handler(restEvent('GET', '/v1/models'), lambdaContext);
    expect((JSON.parse(models.body) as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual(['chat', 'embed']);
    const health = await handler(restEvent('GET', '/healthz'), lambdaContext);
    expect(health.statusCode).toBe(200);
    // No one can scrape a Lambda instance: its metrics are EMF lines, and it says so.
    const metrics = await handler(restEvent('GET', '/metrics'), lambdaContext);
    expect(metrics.statusCode).toBe(404);
    expect((JSON.parse(metrics.body) as ErrorBody).error).toMatchObject({ code: 'metrics_not_served', message: expect.stringMatching(/EMF/) });
  });

  it('answers the Anthropic Messages API through the spoke, errors in Anthropic’s shape', async () => {
    const handler = loadHandler(spoke.url);
    const headers = { 'anthropic-version': '2023-06-01', 'x-api-key': 'k' };
    const res = await handler(restEvent('POST', '/v1/messages', { model: 'chat', max_tokens: 30, messages: [{ role: 'user', content: 'hi' }] }, headers), lambdaContext);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text' }], stop_reason: expect.any(String) });
    expect(header(res, 'x-gateway-route')).toBe('sim/acct-1/local/sim-model');
    expect(header(res, 'request-id')).toBe('c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
    const count = await handler(restEvent('POST', '/v1/messages/count_tokens', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, headers), lambdaContext);
    expect(JSON.parse(count.body)).toEqual({ input_tokens: expect.any(Number) });
    expect(header(count, 'x-gateway-token-count')).toBe('estimate');
    const unknown = await handler(restEvent('POST', '/v1/messages', { model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, headers), lambdaContext);
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it("writes each request's log line and EMF metrics before the answer settles, the session's affinity in both", async () => {
    // In Lambda the environment freezes once the handler settles: whatever it has not written by then is late or lost.
    const { lines, restore } = captureStdout();
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'ai-gateway-proxy';
    try {
      const handler = loadHandler(spoke.url);
      /** One request; what was written to stdout while it ran, read the moment the handler settles. */
      const send = async (path: string, body: unknown, headers: Record<string, string>) => {
        const from = lines.length;
        const res = await handler(restEvent('POST', path, body, headers), lambdaContext);
        const written = lines.slice(from);
        return {
          status: res.statusCode,
          affinity: header(res, 'x-gateway-affinity'),
          logged: written.find((l) => l.api !== undefined && l.status !== undefined),
          emf: written.find((l) => l._aws !== undefined),
        };
      };
      const chat = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };
      const first = await send('/v1/chat/completions', chat, { 'x-session-id': 'lambda-conv-1' });
      expect(first).toMatchObject({ status: 200, affinity: 'new', logged: { api: 'chat', status: 200, affinity: 'new' }, emf: { AffinityHits: 0, AffinityMoves: 0 } });
      const again = await send('/v1/chat/completions', chat, { 'x-session-id': 'lambda-conv-1' });
      expect(again).toMatchObject({ status: 200, affinity: 'hit', logged: { api: 'chat', affinity: 'hit' }, emf: { AffinityHits: 1, Requests: 1 } });
      const messages = { model: 'chat', max_tokens: 30, messages: [{ role: 'user', content: 'hi' }] };
      const anthropic = { 'anthropic-version': '2023-06-01', 'x-session-id': 'lambda-conv-2' };
      expect(await send('/v1/messages', messages, anthropic)).toMatchObject({ status: 200, affinity: 'new', logged: { api: 'messages', affinity: 'new' } });
      expect(await send('/v1/messages', messages, anthropic)).toMatchObject({ status: 200, affinity: 'hit', logged: { api: 'messages', affinity: 'hit' }, emf: { AffinityHits: 1 } });
      // Without a session: a line all the same, and no affinity in it.
      const none = await send('/v1/chat/completions', chat, {});
      expect(none.logged).toMatchObject({ api: 'chat', status: 200 });
      expect(none.logged).not.toHaveProperty('affinity');
      expect(none.affinity).toBeUndefined();

      // Streamed through response streaming (a new execution environment: the session is new to it), the line is out by the time the handler settles too.
      streamingRuntime();
      const streaming = loadHandler(spoke.url) as unknown as (e: unknown, c: unknown) => Promise<void>;
      const from = lines.length;
      await streaming(restEvent('POST', '/v1/chat/completions', { ...chat, stream: true }, { 'x-session-id': 'lambda-conv-1' }), lambdaContext);
      expect(lines.slice(from).find((l) => l.api === 'chat' && l.stream === true)).toMatchObject({ status: 200, affinity: 'new' });
    } finally {
      restore();
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      delete (globalThis as { awslambda?: unknown }).awslambda;
    }
  });

  it('streams SSE through Lambda response streaming when the runtime offers it', async () => {
    const written = streamingRuntime();
    const handler = loadHandler(spoke.url) as unknown as (e: unknown, c: unknown) => Promise<void>;
    await handler(
      restEvent('POST', '/v1/chat/completions', { model: 'chat', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }),
      lambdaContext,
    );
    const all = Buffer.concat(written);
    const split = all.indexOf(Buffer.alloc(8));
    const metadata = JSON.parse(all.subarray(0, split).toString()) as { statusCode: number; headers: Record<string, string> };
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['content-type']).toMatch(/text\/event-stream/);
    const events = all
      .subarray(split + 8)
      .toString()
      .split('\n\n')
      .filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const usage = JSON.parse(events.at(-2)!.slice(6)) as ChatCompletionChunk;
    expect(usage.usage?.completion_tokens).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(5);

    // The Messages API streams its own events the same way.
    written.length = 0;
    const messages = loadHandler(spoke.url) as unknown as (e: unknown, c: unknown) => Promise<void>;
    await messages(
      restEvent('POST', '/v1/messages', { model: 'chat', max_tokens: 30, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' }),
      lambdaContext,
    );
    const raw = Buffer.concat(written);
    const body = raw.subarray(raw.indexOf(Buffer.alloc(8)) + 8).toString();
    const names = body
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.split('\n')[0]);
    expect(names[0]).toBe('event: message_start');
    expect(names.at(-1)).toBe('event: message_stop');
    expect(names).toContain('event: content_block_delta');
  });

  // hono/aws-lambda stops reading the answer when the response stream fails, and never cancels it:
  // the request stayed open (its concurrency and quota held, no log line) past the freeze.
  it('settles a stream whose response stream fails mid-answer (the caller gone) before the handler does: log line, EMF', async () => {
    const slow = await startGateway(simulatedConfig({ tokensPerSecond: 40 }), 'spoke');
    const { lines, restore } = captureStdout();
    const consoleSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'ai-gateway-proxy';
    try {
      // The prelude, its 8 NUL bytes and the first chunk reach the caller; the next write fails.
      const written = streamingRuntime(3);
      const handler = loadHandler(slow.url);
      await handler(restEvent('POST', '/v1/chat/completions', { model: 'chat', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'a long story' }] }), lambdaContext);
      expect(written).toHaveLength(3);
      expect(lines.find((l) => l.msg === 'request')).toMatchObject({ api: 'chat', stream: true, status: 200, errorCode: 'client_closed' });
      expect(lines.find((l) => l._aws !== undefined)).toMatchObject({ Requests: 1 });
    } finally {
      restore();
      consoleSpy.mockRestore();
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      delete (globalThis as { awslambda?: unknown }).awslambda;
      await slow.close();
    }
  });

  describe('a spoke that never answers, and a function that times out first', () => {
    let silent: FakeOpenAI;
    let hanging: TestGateway;
    beforeAll(async () => {
      silent = await startFakeOpenAI();
      silent.always = { kind: 'hang' };
      const provider = { id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: silent.url }] }] };
      hanging = await startGateway({ providers: [provider], models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }] }, 'spoke');
    });
    afterAll(async () => {
      await hanging.close();
      await silent.close();
      delete (globalThis as { awslambda?: unknown }).awslambda;
    });

    // The proxy's own deadline (120 s) and attempt timeouts (40 s to a first byte) are past a
    // short function timeout: without the function's time left, Lambda kills it mid-request
    // and API Gateway answers with its own error, not the OpenAI shape.
    it('answers 504 deadline_exceeded while the function still runs, buffered and streamed', async () => {
      const chat = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };
      delete (globalThis as { awslambda?: unknown }).awslambda;
      const handler = loadHandler(hanging.url);
      const res = await handler(restEvent('POST', '/v1/chat/completions', chat), contextEnding(1_500));
      expect(res.statusCode).toBe(504);
      expect((JSON.parse(res.body) as ErrorBody).error).toMatchObject({ type: 'timeout_error', code: 'deadline_exceeded', message: expect.stringMatching(/Lambda function/) });

      const written = streamingRuntime();
      const streaming = loadHandler(hanging.url) as unknown as (e: unknown, c: unknown) => Promise<void>;
      await streaming(restEvent('POST', '/v1/chat/completions', { ...chat, stream: true }), contextEnding(1_500));
      const { metadata, body } = streamed(written);
      expect(metadata.statusCode).toBe(504);
      expect((JSON.parse(body) as ErrorBody).error.code).toBe('deadline_exceeded');
    });
  });

  describe('config from the SSM parameter alone (past 4 KB, the hub sets no inline copy)', () => {
    useFakeAwsCredentials();
    const parameter: FakeParameter = { name: '/ai-gateway/hub/runtime-config', version: 1 };
    let ssm: FakeSsm;
    const saved = { ...process.env };
    beforeAll(async () => {
      ssm = await startFakeSsm(parameter);
      delete process.env.GATEWAY_CONFIG_JSON;
      Object.assign(process.env, {
        GATEWAY_CONFIG_SSM_PARAMETER: parameter.name,
        GATEWAY_CONFIG_POLL_SECONDS: '1',
        AWS_ENDPOINT_URL_SSM: ssm.url,
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: 'ai-gateway-proxy',
      });
      delete (globalThis as { awslambda?: unknown }).awslambda;
    });
    afterAll(async () => {
      for (const k of ['GATEWAY_CONFIG_SSM_PARAMETER', 'GATEWAY_CONFIG_POLL_SECONDS', 'AWS_ENDPOINT_URL_SSM', 'AWS_REGION', 'AWS_LAMBDA_FUNCTION_NAME']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      await ssm.close();
    });

    it('answers 503 while the parameter is missing or invalid, logs why with its name and key path, and starts on a later invocation', async () => {
      const errors: string[] = [];
      const consoleSpy = jest.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
      const { lines, restore: restoreStdout } = captureStdout();
      try {
        const handler = freshHandler();
        const chat = restEvent('POST', '/v1/chat/completions', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
        /** One invocation: its status, error code, and the start-up failure it logged. */
        const invoke = async () => {
          const from = errors.length;
          const res = await handler(chat, lambdaContext);
          const logged = errors.slice(from).map((l) => JSON.parse(l) as { msg: string; err: string });
          // Every answer carries x-request-id (the contract): API Gateway's request id here.
          expect(header(res, 'x-request-id')).toBe('c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
          return { status: res.statusCode, code: res.statusCode === 200 ? undefined : (JSON.parse(res.body) as ErrorBody).error.code, logged: logged.map((l) => l.err) };
        };
        const unavailable = { status: 503, code: 'gateway_unavailable' };

        // Never written (SSM's ParameterNotFound has no message): the log names the parameter.
        expect(await invoke()).toMatchObject({ ...unavailable, logged: [expect.stringContaining(parameter.name)] });
        Object.assign(parameter, { version: 2, value: 'models: [] # YAML, not JSON' });
        expect(await invoke()).toMatchObject({ ...unavailable, logged: [expect.stringMatching(new RegExp(`ssm:${parameter.name}.*JSON`, 's'))] });
        Object.assign(parameter, { version: 3, value: JSON.stringify({ ...proxyConfig(spoke.url), models: 'chat' }) });
        expect(await invoke()).toMatchObject({ ...unavailable, logged: [expect.stringMatching(/models/)] });

        // Fixed in SSM: the next invocation starts.
        Object.assign(parameter, { version: 4, value: JSON.stringify(proxyConfig(spoke.url)) });
        expect(await invoke()).toEqual({ status: 200, code: undefined, logged: [] });

        // A bad version later: the running config stays, and the rejection is logged with its source.
        Object.assign(parameter, { version: 5, value: JSON.stringify({ ...proxyConfig(spoke.url), spokes: [{ id: 'spoke-a', url: 'not a url' }] }) });
        expect(await until(() => lines.some((l) => l.msg === 'config rejected; the running config stays'), 5_000)).toBe(true);
        expect(lines.find((l) => l.msg === 'config rejected; the running config stays')).toMatchObject({
          level: 'error',
          source: `ssm:${parameter.name}`,
          error: expect.stringMatching(/spokes\.0\.url/),
        });
        expect(await invoke()).toEqual({ status: 200, code: undefined, logged: [] });

        // The parameter deleted: each poll's failure names it, and requests are still served.
        delete parameter.value;
        const pollFailed = (l: string) => l.includes('config poll failed');
        expect(await until(() => errors.some(pollFailed), 5_000)).toBe(true);
        expect(JSON.parse(errors.find(pollFailed)!)).toMatchObject({
          source: `ssm:${parameter.name}`,
          err: expect.stringContaining(`${parameter.name} could not be read: ParameterNotFound`),
        });
        expect((await handler(chat, lambdaContext)).statusCode).toBe(200);
      } finally {
        consoleSpy.mockRestore();
        restoreStdout();
      }
    });

    // SSM unreachable (a VPC endpoint or security group wrong): the SDK itself would wait for good.
    it('answers 503 naming the parameter when SSM does not answer, within seconds rather than at the function timeout', async () => {
      Object.assign(parameter, { version: 6, value: JSON.stringify(proxyConfig(spoke.url)), delayMs: 60_000 });
      const errors: string[] = [];
      const consoleSpy = jest.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
      try {
        const res = await freshHandler()(restEvent('GET', '/v1/models'), lambdaContext);
        expect(res.statusCode).toBe(503);
        // (The environment of the test before still polls the parameter: its failures are logged too.)
        const started = errors.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg === 'gateway start failed');
        expect(started).toEqual([{ level: 'error', msg: 'gateway start failed', err: `SSM parameter ${parameter.name} could not be read: no answer within 10000 ms` }]);
      } finally {
        consoleSpy.mockRestore();
        delete parameter.delayMs;
      }
    }, 20_000);
  });

  describe('event variants API Gateway sends', () => {
    const chat = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };
    let handler: Handler;
    beforeAll(() => {
      delete (globalThis as { awslambda?: unknown }).awslambda;
      handler = loadHandler(spoke.url);
    });
    const errorOf = (res: Result) => (JSON.parse(res.body) as ErrorBody).error;

    it('reads headers as clients cased them, from multiValueHeaders too, and the query string', async () => {
      const event = restEvent('POST', '/v1/chat/completions', chat, { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': 'client-id-1' });
      const res = await handler({ ...event, headers: null }, lambdaContext);
      expect(res.statusCode).toBe(200);
      expect(header(res, 'x-request-id')).toBe('client-id-1');
      const models = await handler({ ...restEvent('GET', '/v1/models'), queryStringParameters: { a: '2' }, multiValueQueryStringParameters: { a: ['1', '2'] } }, lambdaContext);
      expect(models.statusCode).toBe(200);
    });

    it('decodes a base64 body, and refuses a compressed one with 415 as the Node server does', async () => {
      const json = JSON.stringify(chat);
      const res = await handler({ ...restEvent('POST', '/v1/chat/completions', chat), body: Buffer.from(json).toString('base64'), isBase64Encoded: true }, lambdaContext);
      expect(res.statusCode).toBe(200);
      const { gzipSync } = await import('node:zlib');
      const gz = { ...restEvent('POST', '/v1/chat/completions', chat, { 'Content-Encoding': 'gzip' }), body: gzipSync(json).toString('base64'), isBase64Encoded: true };
      const refused = await handler(gz, lambdaContext);
      expect(refused.statusCode).toBe(415);
      expect(errorOf(refused).code).toBe('unsupported_content_encoding');
    });

    it('answers a POST without a body, other methods and unknown paths in the OpenAI shape', async () => {
      const empty = await handler(restEvent('POST', '/v1/chat/completions'), lambdaContext);
      expect(empty.statusCode).toBe(400);
      expect(errorOf(empty).type).toBe('invalid_request_error');
      const options = await handler(restEvent('OPTIONS', '/v1/chat/completions'), lambdaContext);
      expect(options.statusCode).toBe(405);
      expect(header(options, 'allow')).toBe('POST');
      const head = await handler(restEvent('HEAD', '/v1/models'), lambdaContext);
      expect(head.statusCode).toBe(200);
      const unknown = await handler(restEvent('GET', '/v1/nope'), lambdaContext);
      expect(unknown.statusCode).toBe(404);
      expect(errorOf(unknown).code).toBe('unknown_url');
      const inference = await handler(restEvent('POST', '/inference', chat), lambdaContext);
      expect(inference.statusCode).toBe(200);
    });
  });
});
