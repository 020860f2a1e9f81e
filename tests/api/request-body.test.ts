/**
 * A request body is read whole however it arrives: with a declared length (the handler
 * goes on once that many bytes came) or chunked without one, in pieces with pauses
 * between them; the provider gets the client's whole prompt either way.
 */
import { request } from 'node:http';
import { startFakeOpenAI } from '../fakes/openai';
import type { FakeServer } from '../fakes/fault';
import { startGateway, type TestGateway } from '../helpers/gateway';

let upstream: FakeServer;
let gw: TestGateway;
beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'local', url: upstream.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});

/** POSTs `body` in `pieces`, 20 ms apart, with or without a declared length; resolves with the status and body. */
function postInPieces(body: string, pieces: number, declareLength: boolean): Promise<{ status: number; text: string }> {
  const bytes = Buffer.from(body);
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (declareLength) headers['content-length'] = String(bytes.length);
    const req = request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    const size = Math.ceil(bytes.length / pieces);
    let i = 0;
    const next = () => {
      if (i >= bytes.length) return void req.end();
      req.write(bytes.subarray(i, i + size));
      i += size;
      setTimeout(next, 20);
    };
    next();
  });
}

const prompt = 'every byte of this prompt must reach the provider '.repeat(40);
const chat = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: prompt }] });

test.each([
  ['with a declared length', true],
  ['chunked, without a length', false],
])('a body sent in pieces %s is read whole', async (_name, declared) => {
  const before = upstream.requests.length;
  const res = await postInPieces(chat, 5, declared);
  expect(res.status).toBe(200);
  expect((JSON.parse(res.text) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toBeTruthy();
  const sent = upstream.requests.slice(before).find((r) => r.path === '/v1/chat/completions');
  expect((sent?.body as { messages: Array<{ content: string }> }).messages[0].content).toBe(prompt);
});
