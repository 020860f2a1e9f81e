/**
 * Both API transports, one table: the Node server's own listener (entry/api-listener.ts,
 * over real HTTP) and the Hono app (app.fetch, as Lambda serves it) must answer every
 * case the same way, so the fast path cannot drift from the app.
 */
import { expect } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { createApp } from '../../runtime/src/app';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startServer } from '../../runtime/src/entry/server';
import { createGateway, type Gateway } from '../../runtime/src/gateway';
import { hashKey } from '../../runtime/src/tenants/auth';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { validAsSent } from '../../runtime/src/api/request-fast-check';
import { compileOutputSchema } from '../../runtime/src/api/strict-schema';
import type { Fault } from '../fakes/fault';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import type { ChatCompletion } from '../../runtime/src/core/openai-types';
import type { ErrorBody } from '../helpers/gateway';

const KEY = 'tenant-key-1';
const OPERATOR_KEY = 'operator-key-1';
const REPLY = 'Same answer on every transport.';

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

interface Served {
  send(req: Sent): Promise<Answer>;
  close(): Promise<void>;
}

const quiet = { destination: { write: () => true } };
const gatewayFor = (doc: GatewayConfigInput): Gateway =>
  createGateway(parseConfig(doc), 'all-in-one', { observability: quiet, http: createUndiciHttp(), requestCheck: validAsSent, outputSchemas: compileOutputSchema, probes: false });

const bodyText = (body: unknown): string | Uint8Array<ArrayBuffer> => (typeof body === 'string' ? body : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body));

const TRANSPORTS: Array<{ name: string; serve(doc: GatewayConfigInput): Promise<Served> }> = [
  {
    name: 'Node server (api-listener)',
    async serve(doc) {
      const server = await startServer(gatewayFor(doc), 0, '127.0.0.1');
      return {
        async send({ method = 'POST', path = '/v1/chat/completions', headers = {}, body }) {
          const res = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : bodyText(body) });
          return { status: res.status, headers: res.headers, text: await res.text() };
        },
        close: () => server.close(),
      };
    },
  },
  {
    name: 'Hono app (app.fetch)',
    async serve(doc) {
      const gw = gatewayFor(doc);
      const app = createApp(gw);
      await gw.ready;
      return {
        async send({ method = 'POST', path = '/v1/chat/completions', headers = {}, body }) {
          const req = new Request(`http://gateway.test${path}`, {
            method,
            headers: { 'content-type': 'application/json', ...headers },
            body: body === undefined ? undefined : bodyText(body),
          });
          const res = await app.fetch(req);
          return { status: res.status, headers: res.headers, text: await res.text() };
        },
        close: () => gw.close(),
      };
    },
  },
];

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'chat', messages: [{ role: 'user', content: 'Hello' }], ...extra });
const messages = (extra: Record<string, unknown> = {}) => chat({ max_tokens: 50, ...extra });
const auth = { authorization: `Bearer ${KEY}` };
const errorOf = (a: Answer) => (JSON.parse(a.text) as ErrorBody).error;
const events = (a: Answer) => a.text.split('\n\n').filter(Boolean);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Case {
  name: string;
  request: Sent;
  /** Faults of the upstream for this case, in order. */
  faults?: Fault[];
  check: (answer: Answer) => void;
}

const CASES: Case[] = [
  {
    name: 'a gzipped body is refused by name: 415 unsupported_content_encoding',
    request: { headers: { ...auth, 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(chat())) },
    check: (a) => {
      expect(a.status).toBe(415);
      expect(errorOf(a)).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_content_encoding', message: expect.stringContaining('"gzip"') });
    },
  },
  {
    name: "a gzipped Messages body is refused in Anthropic's shape",
    request: { path: '/v1/messages', headers: { ...auth, 'anthropic-version': '2023-06-01', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(messages())) },
    check: (a) => {
      expect(a.status).toBe(415);
      expect(JSON.parse(a.text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', details: { error_code: 'unsupported_content_encoding' } } });
    },
  },
  {
    name: 'Content-Encoding identity is a plain body',
    request: { headers: { ...auth, 'content-encoding': 'identity' }, body: chat() },
    check: (a) => expect(a.status).toBe(200),
  },
  ...['/status', '/status.json', '/healthz'].map((path): Case => ({
    name: `GET ${path} carries the request id, as every answer does`,
    request: { method: 'GET', path, headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'x-request-id': 'ops-check-1' } },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('x-request-id')).toBe('ops-check-1');
    },
  })),
  {
    name: 'a whole answer: the completion, JSON headers, the route and the client request id',
    request: { headers: { ...auth, 'x-request-id': 'client-req-7' }, body: chat() },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toBe('application/json');
      expect(a.headers.get('x-request-id')).toBe('client-req-7');
      expect(a.headers.get('x-gateway-route')).toBe('oa/acct/local/gpt-test');
      expect(a.headers.get('x-gateway-attempts')).toBe('1');
      expect(JSON.parse(a.text)).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }] });
    },
  },
  {
    name: 'a path with a query string, and an unsafe request id replaced by ours',
    request: { path: '/v1/chat/completions?trace=1', headers: { ...auth, 'x-request-id': 'bad id\twith tabs' }, body: chat() },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('x-request-id')).toMatch(UUID);
    },
  },
  {
    name: 'the /inference alias',
    request: { path: '/inference', headers: auth, body: chat() },
    check: (a) => {
      expect(a.status).toBe(200);
      expect((JSON.parse(a.text) as ChatCompletion).choices[0].message.content).toBe(REPLY);
    },
  },
  {
    name: 'a stream with usage: SSE headers, chunks, the usage chunk, [DONE]',
    request: { headers: auth, body: chat({ stream: true, stream_options: { include_usage: true } }) },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(a.headers.get('cache-control')).toBe('no-cache');
      expect(a.headers.get('x-gateway-route')).toBe('oa/acct/local/gpt-test');
      expect(a.headers.get('x-request-id')).toMatch(UUID);
      const out = events(a);
      expect(out.at(-1)).toBe('data: [DONE]');
      const chunks = out.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }>; usage?: unknown });
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(REPLY);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
    },
  },
  {
    name: 'a stream without usage: no usage chunk',
    request: { headers: auth, body: chat({ stream: true }) },
    check: (a) => {
      expect(a.status).toBe(200);
      const out = events(a);
      expect(out.at(-1)).toBe('data: [DONE]');
      expect(out.slice(0, -1).filter((e) => (JSON.parse(e.slice(6)) as { usage?: unknown }).usage)).toEqual([]);
    },
  },
  {
    name: 'a stream cut mid-way with no route left: an error event, no [DONE]',
    request: { headers: auth, body: chat({ stream: true }) },
    faults: [{ kind: 'cut', afterChunks: 2 }],
    check: (a) => {
      expect(a.status).toBe(200);
      const out = events(a);
      expect(out.at(-1)).not.toBe('data: [DONE]');
      expect((JSON.parse(out.at(-1)!.slice(6)) as ErrorBody).error).toMatchObject({ type: 'api_error', code: 'stream_interrupted' });
    },
  },
  {
    name: 'invalid JSON: 400 invalid_json',
    request: { headers: auth, body: '{"model": "chat", "messages": [' },
    check: (a) => {
      expect(a.status).toBe(400);
      expect(errorOf(a)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', param: null });
      expect(a.headers.get('x-request-id')).toMatch(UUID);
    },
  },
  {
    name: 'an unknown parameter: 400 naming it',
    request: { headers: auth, body: chat({ logit_bias: { '1': 2 } }) },
    check: (a) => {
      expect(a.status).toBe(400);
      expect(errorOf(a)).toMatchObject({ code: 'unsupported_parameter', param: 'logit_bias', message: 'Unrecognized request argument supplied: logit_bias' });
    },
  },
  {
    name: 'an unknown model: 404 naming the model',
    request: { headers: auth, body: chat({ model: 'gpt-9' }) },
    check: (a) => {
      expect(a.status).toBe(404);
      expect(errorOf(a)).toMatchObject({ type: 'not_found_error', code: 'model_not_found', param: 'model' });
      expect(errorOf(a).message).toContain('Known models: chat');
    },
  },
  {
    name: 'no key: 401 missing_api_key',
    request: { body: chat() },
    check: (a) => {
      expect(a.status).toBe(401);
      expect(errorOf(a)).toMatchObject({ type: 'authentication_error', code: 'missing_api_key' });
      expect(a.headers.get('x-request-id')).toMatch(UUID);
    },
  },
  {
    name: 'a body over server.maxBodyBytes: 413 request_too_large',
    request: { headers: auth, body: chat({ messages: [{ role: 'user', content: 'x'.repeat(5000) }] }) },
    check: (a) => {
      expect(a.status).toBe(413);
      expect(errorOf(a)).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    },
  },
  {
    name: 'an image as a data: URL: forwarded to the OpenAI-compatible target',
    request: {
      headers: auth,
      body: chat({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is it?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
        ],
      }),
    },
    check: (a) => {
      expect(a.status).toBe(200);
      expect((JSON.parse(a.text) as ChatCompletion).choices[0].message.content).toBe(REPLY);
    },
  },
  {
    name: 'an image URL no target fetches: 400 naming the part',
    request: { headers: auth, body: chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] }) },
    check: (a) => {
      expect(a.status).toBe(400);
      expect(errorOf(a)).toMatchObject({ code: 'unsupported_image', param: 'messages[0].content[0].image_url.url' });
    },
  },
  {
    name: 'a strict stream whose answer is not the schema: 502 invalid_structured_output, no stream',
    request: { headers: auth, body: chat({ stream: true, response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } } }) },
    check: (a) => {
      expect(a.status).toBe(502);
      expect(a.headers.get('content-type')).toBe('application/json');
      expect(errorOf(a)).toMatchObject({ code: 'invalid_structured_output', param: 'response_format' });
    },
  },
  {
    name: 'the provider refuses the request: its verdict, as a 400',
    request: { headers: auth, body: chat() },
    faults: [{ kind: 'status', status: 400, code: 'content_filter', message: 'filtered' }],
    check: (a) => {
      expect(a.status).toBe(400);
      expect(errorOf(a)).toMatchObject({ code: 'content_filter', message: 'filtered' });
      expect(a.headers.get('x-request-id')).toMatch(UUID);
    },
  },
  {
    name: 'the only route throttled: 503 upstream_quota_exhausted with Retry-After',
    request: { headers: auth, body: chat() },
    faults: [{ kind: 'status', status: 429, headers: { 'retry-after': '30' } }],
    check: (a) => {
      expect(a.status).toBe(503);
      expect(errorOf(a)).toMatchObject({ type: 'api_error', code: 'upstream_quota_exhausted' });
      expect(a.headers.get('retry-after')).toBe('30');
    },
  },
  {
    name: 'Messages: an Anthropic message (translated for this target), with request-id',
    request: { path: '/v1/messages', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }, body: messages() },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('request-id')).toBe(a.headers.get('x-request-id'));
      expect(a.headers.get('x-gateway-route')).toBe('oa/acct/local/gpt-test');
      expect(JSON.parse(a.text)).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-test', content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn' });
    },
  },
  {
    name: 'Messages: a stream of Anthropic events, message_start to message_stop',
    request: { path: '/v1/messages', headers: auth, body: messages({ stream: true }) },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const names = events(a).map((e) => e.split('\n')[0]);
      expect(names[0]).toBe('event: message_start');
      expect(names.at(-1)).toBe('event: message_stop');
    },
  },
  {
    name: 'Messages: a stream cut with no route left ends with an Anthropic error event',
    request: { path: '/v1/messages', headers: auth, body: messages({ stream: true }) },
    faults: [{ kind: 'cut', afterChunks: 2 }],
    check: (a) => {
      const last = events(a).at(-1)!;
      expect(last.split('\n')[0]).toBe('event: error');
      expect(JSON.parse(last.split('\ndata: ')[1])).toMatchObject({ type: 'error', error: { type: 'api_error', details: { error_code: 'stream_interrupted' } } });
    },
  },
  {
    name: 'Messages: no key: 401 in Anthropic’s error shape',
    request: { path: '/v1/messages', body: messages() },
    check: (a) => {
      expect(a.status).toBe(401);
      expect(JSON.parse(a.text)).toMatchObject({ type: 'error', error: { type: 'authentication_error', details: { error_code: 'missing_api_key' } } });
      expect(a.headers.get('request-id')).toMatch(UUID);
    },
  },
  {
    name: 'Messages: a body over server.maxBodyBytes: 413 request_too_large in Anthropic’s shape',
    request: { path: '/v1/messages', headers: auth, body: messages({ messages: [{ role: 'user', content: 'x'.repeat(5000) }] }) },
    check: (a) => {
      expect(a.status).toBe(413);
      expect(JSON.parse(a.text)).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    },
  },
  {
    name: 'count_tokens: the estimate for a target without a counter, and which it is',
    request: { path: '/v1/messages/count_tokens', headers: auth, body: chat() },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(JSON.parse(a.text)).toEqual({ input_tokens: expect.any(Number) });
      expect(a.headers.get('x-gateway-token-count')).toBe('estimate');
    },
  },
  {
    name: 'embeddings: the vectors in input order, JSON headers, the route and the batches',
    request: { path: '/v1/embeddings', headers: auth, body: { model: 'embed', input: ['first', 'second'], encoding_format: 'float' } },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toBe('application/json');
      expect(a.headers.get('x-gateway-route')).toBe('oa/acct/local/text-embedding-3-small');
      expect(a.headers.get('x-gateway-batches')).toBe('1');
      const answer = JSON.parse(a.text) as { object: string; data: Array<{ index: number; embedding: number[] }>; usage: { prompt_tokens: number } };
      expect(answer.object).toBe('list');
      expect(answer.data.map((d) => [d.index, d.embedding.length])).toEqual([
        [0, 1536],
        [1, 1536],
      ]);
      expect(answer.usage.prompt_tokens).toBe(4);
    },
  },
  {
    name: 'embeddings in base64, 64 inputs: the upstream’s answer as it came, whole (read in many parts)',
    request: { path: '/v1/embeddings', headers: auth, body: { model: 'embed', input: Array.from({ length: 64 }, (_, i) => `passage ${i}`), encoding_format: 'base64' } },
    check: (a) => {
      expect(a.status).toBe(200);
      const answer = JSON.parse(a.text) as { data: Array<{ index: number; embedding: string }> };
      expect(answer.data.map((d) => [d.index, Buffer.from(d.embedding, 'base64').length])).toEqual(Array.from({ length: 64 }, (_, i) => [i, 1536 * 4]));
    },
  },
  {
    name: 'embeddings on a chat model: 400 naming model',
    request: { path: '/v1/embeddings', headers: auth, body: { model: 'chat', input: 'hi' } },
    check: (a) => {
      expect(a.status).toBe(400);
      expect(errorOf(a)).toMatchObject({ code: 'model_not_supported', param: 'model' });
    },
  },
  {
    name: 'embeddings with an empty input: 400 naming it',
    request: { path: '/v1/embeddings', headers: auth, body: { model: 'embed', input: ['a', ''] } },
    check: (a) => {
      expect(a.status).toBe(400);
      expect(errorOf(a)).toMatchObject({ type: 'invalid_request_error', param: 'input[1]' });
    },
  },
  ...(['/v1/chat/completions', '/inference', '/v1/embeddings'] as const).map((path): Case => ({
    name: `GET ${path}: 405 naming the method to use, with Allow: POST`,
    request: { method: 'GET', path, headers: auth },
    check: (a) => {
      expect(a.status).toBe(405);
      expect(a.headers.get('allow')).toBe('POST');
      expect(errorOf(a)).toEqual({ type: 'invalid_request_error', code: 'method_not_allowed', param: null, message: `Method GET is not allowed on ${path}; use POST.` });
      expect(a.headers.get('x-request-id')).toMatch(UUID);
    },
  })),
  ...(['/v1/messages', '/v1/messages/count_tokens'] as const).map((path): Case => ({
    name: `GET ${path}: 405 with Allow: POST, in Anthropic’s error shape`,
    request: { method: 'GET', path, headers: { ...auth, 'x-request-id': 'client-req-405' } },
    check: (a) => {
      expect(a.status).toBe(405);
      expect(a.headers.get('allow')).toBe('POST');
      expect(a.headers.get('request-id')).toBe('client-req-405');
      expect(JSON.parse(a.text)).toEqual({
        type: 'error',
        error: { type: 'invalid_request_error', message: `Method GET is not allowed on ${path}; use POST.`, details: { error_code: 'method_not_allowed' } },
        request_id: 'client-req-405',
      });
    },
  })),
  {
    name: 'PUT on the chat path: 405 too',
    request: { method: 'PUT', headers: auth, body: chat() },
    check: (a) => {
      expect(a.status).toBe(405);
      expect(errorOf(a).message).toBe('Method PUT is not allowed on /v1/chat/completions; use POST.');
    },
  },
  {
    name: 'HEAD on the chat path: 405 with Allow and no body',
    request: { method: 'HEAD', headers: auth },
    check: (a) => {
      expect(a.status).toBe(405);
      expect(a.headers.get('allow')).toBe('POST');
      expect(a.text).toBe('');
    },
  },
  ...(['/v1/models', '/healthz'] as const).map((path): Case => ({
    name: `POST ${path}: 405 with Allow: GET, HEAD`,
    request: { method: 'POST', path, headers: auth, body: {} },
    check: (a) => {
      expect(a.status).toBe(405);
      expect(a.headers.get('allow')).toBe('GET, HEAD');
      expect(errorOf(a)).toMatchObject({ code: 'method_not_allowed', message: `Method POST is not allowed on ${path}; use GET.` });
    },
  })),
  {
    name: 'HEAD on /v1/models: served as GET, without a body',
    request: { method: 'HEAD', path: '/v1/models', headers: auth },
    check: (a) => {
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toMatch(/^application\/json/);
      expect(a.text).toBe('');
    },
  },
  {
    name: 'a path that is not one: 404 unknown_url',
    request: { method: 'GET', path: '/v1/chat/complete', headers: auth },
    check: (a) => {
      expect(a.status).toBe(404);
      expect(errorOf(a)).toMatchObject({ code: 'unknown_url' });
      expect(a.headers.get('x-request-id')).toMatch(UUID);
    },
  },
];

describe.each(TRANSPORTS)('$name', (transport) => {
  let upstream: FakeOpenAI;
  beforeAll(async () => {
    upstream = await startFakeOpenAI({ reply: REPLY, chunks: 4 });
  });
  afterAll(() => upstream.close());

  // A gateway per case: a circuit or a cooldown from one case must not decide the next.
  it.each(CASES)('$name', async ({ request, faults, check }) => {
    upstream.faults.push(...(faults ?? []));
    const served = await transport.serve({
      server: { maxBodyBytes: 4096 },
      providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: upstream.url }] }] }],
      models: [
        { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] },
        { name: 'embed', api: 'embeddings', targets: [{ provider: 'oa', model: 'text-embedding-3-small' }] },
      ],
      tenants: [{ id: 'team', keys: [hashKey(KEY)] }],
      operators: { keys: [hashKey(OPERATOR_KEY)] },
    });
    try {
      check(await served.send(request));
    } finally {
      upstream.faults.length = 0;
      await served.close();
    }
  });
});
