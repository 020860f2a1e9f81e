/**
 * A request whose deadline (server.requestTimeoutMs) passes while its answer streams:
 * the stream ends with a `deadline_exceeded` error event (never a truncated answer that
 * looks whole, and not `stream_interrupted`: the upstream did not break), and the log line
 * says `deadline_exceeded` too. On both transports: the Node server and the Hono app (Lambda),
 * for chat streams and for Anthropic Messages streams (an `error` event of type timeout_error).
 */
import { createApp } from '../../runtime/src/app';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startServer } from '../../runtime/src/entry/server';
import { createGateway } from '../../runtime/src/gateway';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { LineCapture } from '../observability/capture';
import type { ErrorBody } from '../helpers/gateway';
import { until } from '../helpers/until';

let upstream: FakeOpenAI;
beforeAll(async () => {
  // Ten chunks 300 ms apart: three seconds of streaming, and the deadline is at one second.
  upstream = await startFakeOpenAI({ reply: 'one two three four five six seven eight nine ten', chunks: 10, chunkDelayMs: 300 });
});
afterAll(() => upstream.close());

const doc = (): GatewayConfigInput => ({
  server: { requestTimeoutMs: 1000 },
  providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: upstream.url }] }] }],
  models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
});
const body = JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'count' }] });
const messagesBody = JSON.stringify({ model: 'chat', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'count' }] });
const messagesHeaders = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };

type Served = { send(): Promise<string>; sendMessages(): Promise<string>; close(): Promise<void> };

const transports: Array<[string, (logs: LineCapture) => Promise<Served>]> = [
  [
    'Node server',
    async (logs) => {
      const server = await startServer(createGateway(parseConfig(doc()), 'all-in-one', { observability: { destination: logs }, http: createUndiciHttp(), probes: false }), 0, '127.0.0.1');
      return {
        send: async () => (await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text(),
        sendMessages: async () => (await fetch(`${server.url}/v1/messages`, { method: 'POST', headers: messagesHeaders, body: messagesBody })).text(),
        close: () => server.close(),
      };
    },
  ],
  [
    'Hono app',
    async (logs) => {
      const gw = createGateway(parseConfig(doc()), 'all-in-one', { observability: { destination: logs }, http: createUndiciHttp(), probes: false });
      const app = createApp(gw);
      return {
        send: async () => (await app.fetch(new Request('http://gw.test/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))).text(),
        sendMessages: async () => (await app.fetch(new Request('http://gw.test/v1/messages', { method: 'POST', headers: messagesHeaders, body: messagesBody }))).text(),
        close: () => gw.close(),
      };
    },
  ],
];

it.each(transports)('%s: a deadline passed while streaming ends the stream with deadline_exceeded', async (_name, serve) => {
  const logs = new LineCapture();
  const served = await serve(logs);
  try {
    const events = (await served.send()).split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events.length).toBeGreaterThan(1); // it had started
    expect(events.at(-1)).not.toBe('data: [DONE]');
    const last = JSON.parse(events.at(-1)!.slice(6)) as ErrorBody;
    expect(last.error).toMatchObject({ type: 'timeout_error', code: 'deadline_exceeded', message: 'The request exceeded the gateway deadline of 1000 ms.' });
    expect(await until(() => logs.requests().length > 0)).toBe(true);
    expect(logs.requests()[0]).toMatchObject({ status: 200, errorCode: 'deadline_exceeded', level: 'warn' });
  } finally {
    await served.close();
  }
});

it.each(transports)('%s: a deadline passed while a Messages stream runs ends it with a timeout_error event', async (_name, serve) => {
  const logs = new LineCapture();
  const served = await serve(logs);
  try {
    const events = (await served.sendMessages()).split('\n\n').filter((e) => e.startsWith('event: '));
    expect(events.some((e) => e.startsWith('event: content_block_delta'))).toBe(true); // it had started
    expect(events.some((e) => e.startsWith('event: message_stop'))).toBe(false);
    const last = events.at(-1)!.split('\n');
    expect(last[0]).toBe('event: error');
    expect(JSON.parse(last[1].slice(6))).toEqual({
      type: 'error',
      error: { type: 'timeout_error', message: 'The request exceeded the gateway deadline of 1000 ms.', details: { error_code: 'deadline_exceeded' } },
    });
    expect(await until(() => logs.requests().length > 0)).toBe(true);
    expect(logs.requests()[0]).toMatchObject({ status: 200, api: 'messages', errorCode: 'deadline_exceeded', level: 'warn' });
  } finally {
    await served.close();
  }
});
