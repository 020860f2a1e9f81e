/**
 * Streams that never fail silently: failures before the first byte are invisible, and a
 * stream cut or stalled after it is continued from another route so the client gets one
 * whole answer, exactly once.
 */
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';

const REPLY = 'The quick brown fox jumps over the lazy dog, and then it runs far away into the green forest.';

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined;
  const ids = new Set<string>();
  let finish: string | null | undefined;
  for await (const c of stream) {
    ids.add(c.id);
    text += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    usage = c.usage ?? usage;
  }
  return { text, usage, ids, finish };
}

describe('resilient streams', () => {
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let gw: TestGateway;
  beforeAll(async () => {
    a = await startFakeOpenAI({ reply: REPLY, chunks: 12 });
    b = await startFakeOpenAI({ reply: REPLY, chunks: 12 });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });
  beforeEach(async () => {
    gw = await startGateway(
      {
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              { id: 'acct-a', endpoints: [{ region: 'east', url: a.url }] },
              { id: 'acct-b', endpoints: [{ region: 'west', url: b.url }] },
            ],
          },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }], timeouts: { idleMs: 300, firstByteMs: 1000 } }],
      },
      'all-in-one',
      { probes: false },
    );
    // Make acct-a the first choice so faults injected there are hit first.
    gw.gateway.stats.get('oa/acct-b/west/gpt-x').firstChunkMs.add(5000);
  });
  afterEach(async () => {
    for (const f of [a, b]) {
      f.faults.length = 0;
      f.always = undefined;
    }
    await gw.close();
  });

  const ask = () =>
    gw.client.chat.completions.create({ model: 'chat', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Tell me about the fox.' }] });

  it('fails over invisibly when the stream fails before its first byte', async () => {
    a.faults.push({ kind: 'status', status: 503 });
    const { data, response } = await ask().withResponse();
    const out = await collect(data);
    expect(out.text).toBe(REPLY);
    expect(response.headers.get('x-gateway-route')).toBe('oa/acct-b/west/gpt-x');
    expect(response.headers.get('x-gateway-attempts')).toBe('2');
  });

  it('continues a stream cut after its first bytes from another route: one whole answer, once', async () => {
    a.faults.push({ kind: 'cut', afterChunks: 4 });
    const out = await collect(await ask());
    expect(out.text).toBe(REPLY);
    expect(out.ids.size).toBe(1);
    expect(out.finish).toBe('stop');
    expect(out.usage!.completion_tokens).toBeGreaterThan(0);
    // The continuation carried what was already sent.
    const cont = b.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(cont.messages.at(-2)!.role).toBe('assistant');
    expect(REPLY.startsWith(cont.messages.at(-2)!.content)).toBe(true);
    expect(cont.messages.at(-2)!.content.length).toBeGreaterThan(0);
  });

  it('continues a stream that stalls after its first bytes (idle timeout)', async () => {
    a.faults.push({ kind: 'stall', afterChunks: 3 });
    const out = await collect(await ask());
    expect(out.text).toBe(REPLY);
    expect(out.ids.size).toBe(1);
  });

  it('finishes promptly a stream whose [DONE] never comes after a complete answer', async () => {
    a.faults.push({ kind: 'no-terminator' });
    const before = b.requests.length;
    const out = await collect(await ask());
    expect(out.text).toBe(REPLY);
    expect(b.requests.length).toBe(before); // nothing to continue
  });

  it('drops a malformed chunk and passes the rest', async () => {
    a.faults.push({ kind: 'malformed', afterChunks: 5 });
    const out = await collect(await ask());
    expect(out.text).toBe(REPLY);
  });

  it('ends with an error event when no route can continue', async () => {
    a.faults.push({ kind: 'cut', afterChunks: 4 });
    b.always = { kind: 'status', status: 503 };
    const stream = await ask();
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(REPLY.startsWith(text)).toBe(true);
    expect(text.length).toBeLessThan(REPLY.length);
  });
});
