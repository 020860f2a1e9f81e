/**
 * What the client sees when the only upstream misbehaves: garbage and cuts become clean
 * 502s or stream error events, verdicts go back as they were said, and nothing hangs.
 */
import { expect } from '@jest/globals';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, postJson, startGateway, type TestGateway, jsonOf, type ErrorBody } from '../helpers/gateway';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';

describe('one upstream, misbehaving', () => {
  let up: FakeOpenAI;
  let gw: TestGateway;
  let spoke: TestGateway;
  const body = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };
  const config = () => ({
    server: { requestTimeoutMs: 1500 },
    providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'a', endpoints: [{ region: 'local', url: up.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
  });

  beforeAll(async () => {
    up = await startFakeOpenAI({ chunks: 8 });
  });
  afterAll(() => up.close());
  // A fresh gateway per test: circuits and cooldowns from one case must not leak into the next.
  beforeEach(async () => {
    gw = await startGateway(config());
    spoke = await startGateway(config(), 'spoke');
  });
  afterEach(async () => {
    up.faults.length = 0;
    up.always = undefined;
    await gw.close();
    await spoke.close();
  });

  it('retries the only route once after a transient failure, invisibly', async () => {
    up.faults.push({ kind: 'status', status: 500 });
    const res = await postJson(`${gw.url}/v1/chat/completions`, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
  });

  it.each([
    ['garbage JSON', { kind: 'garbage' as const }],
    ['a wrong content type', { kind: 'wrong-content-type' as const }],
    ['a reset connection', { kind: 'reset' as const }],
    ['a body cut in the middle', { kind: 'cut' as const, afterChunks: 0 }],
    ['a 500', { kind: 'status' as const, status: 500 }],
  ])('turns %s into a 502 listing the attempts', async (_n, fault) => {
    up.always = fault;
    const res = await postJson(`${gw.url}/v1/chat/completions`, body);
    expect(res.status).toBe(502);
    const json = await jsonOf<ErrorBody>(res);
    expect(json.error).toMatchObject({ type: 'api_error', code: 'upstream_unavailable' });
    expect(json.error.message).toContain('oa/a/local/gpt-test: transient');
  });

  it('answers 503 with Retry-After when the only account is throttled, 429 from a spoke', async () => {
    up.always = { kind: 'status', status: 429, headers: { 'retry-after': '30' } };
    const res = await postJson(`${gw.url}/v1/chat/completions`, body);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect((await jsonOf<ErrorBody>(res)).error.code).toBe('upstream_quota_exhausted');

    up.always = { kind: 'status', status: 429, code: 'insufficient_quota' };
    const fromSpoke = await postJson(`${spoke.url}/v1/chat/completions`, body);
    expect(fromSpoke.status).toBe(429);
    expect((await jsonOf<ErrorBody>(fromSpoke)).error).toMatchObject({ type: 'rate_limit_error', code: 'upstream_quota_exhausted' });
  });

  it('passes a provider verdict back: content filter and context length as 400s', async () => {
    up.faults.push({ kind: 'status', status: 400, code: 'content_filter', message: 'The prompt was filtered.' });
    const filtered = await postJson(`${gw.url}/v1/chat/completions`, body);
    expect(filtered.status).toBe(400);
    expect((await jsonOf<ErrorBody>(filtered)).error).toMatchObject({ message: expect.stringContaining('The prompt was filtered.'), code: 'content_filter' });

    up.faults.push({ kind: 'status', status: 400, code: 'context_length_exceeded', message: "This model's maximum context length is 8192 tokens." });
    const long = await gw.client.chat.completions.create(body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(long).toBeInstanceOf(OpenAI.BadRequestError);
    expect((long as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
    // Verdicts on requests say nothing against the route: /healthz shows no failure of it.
    expect((await healthOf(gw.url)).routes.map((r) => [r.state, r.lastFailure])).toEqual([['healthy', undefined]]);
    up.faults.push({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    expect((await postJson(`${gw.url}/v1/chat/completions`, body)).status).toBe(502);
    expect((await healthOf(gw.url)).routes[0].lastFailure).toMatch(/transient/);
  });

  it('answers a hung upstream with 504 at the deadline', async () => {
    up.always = { kind: 'hang' };
    const res = await postJson(`${gw.url}/v1/chat/completions`, body);
    expect(res.status).toBe(504);
    expect((await jsonOf<ErrorBody>(res)).error).toMatchObject({ type: 'timeout_error', code: 'deadline_exceeded' });
  });

  it('ends a stream cut after its first bytes with an error event, never a clean [DONE]', async () => {
    up.faults.push({ kind: 'cut', afterChunks: 3 });
    const stream = await gw.client.chat.completions.create({ ...body, stream: true } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text.length).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toMatch(/stream/);
  });

  it('drops a malformed upstream chunk and delivers the rest', async () => {
    up.faults.push({ kind: 'malformed', afterChunks: 2 });
    const res = await postJson(`${gw.url}/v1/chat/completions`, { ...body, stream: true });
    const raw = await res.text();
    expect(raw).not.toContain('{not json');
    const text = raw
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => (JSON.parse(e.slice(6)) as ChatCompletionChunk).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe('Hello! This is the fake OpenAI server answering your request.');
    expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('aborts the upstream call when the client disconnects mid-stream', async () => {
    up.options.chunkDelayMs = 30;
    up.options.chunks = 200;
    try {
      const ac = new AbortController();
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      const before = up.clientAborts();
      ac.abort();
      for (let i = 0; i < 100 && up.clientAborts() === before; i++) await new Promise((r) => setTimeout(r, 20));
      expect(up.clientAborts()).toBe(before + 1);
    } finally {
      up.options.chunkDelayMs = 0;
      up.options.chunks = 8;
    }
  });
});
