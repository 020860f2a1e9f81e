/**
 * Embeddings answers of every size the API allows (2,048 inputs) come through whole, in
 * both encodings and through both hops. Before, any answer over 8 MB failed as a broken
 * upstream: through the proxy, 1,100 inputs in base64 (the OpenAI SDK's default) or 600 in
 * float were a 502, and the spoke that had answered correctly was ejected.
 */
import { expect } from '@jest/globals';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, postJson, startGateway, type TestGateway } from '../helpers/gateway';

const MODEL = 'text-embedding-3-small';
const inputs = (n: number) => Array.from({ length: n }, (_, i) => `chunk ${i} of a long document`);

describe('large embeddings answers', () => {
  let upstream: FakeOpenAI;
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    spoke = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: upstream.url }] }] }],
        models: [{ name: 'embed', api: 'embeddings', targets: [{ provider: 'oa', model: MODEL }] }],
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'embed', api: 'embeddings', targets: [{ provider: 'spokes', model: 'embed' }] }] }, 'proxy', {
      probes: false,
    });
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await upstream.close();
  });

  it('2,048 inputs in base64 (16.8 MB) come through the proxy, and the spoke stays in service', async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data } = await client.embeddings.create({ model: 'embed', input: inputs(2048) });
    expect(data).toHaveLength(2048);
    expect(data.every((d, i) => d.index === i && d.embedding.length === 1536)).toBe(true);
    expect((await healthOf(proxy.url)).routes.map((r) => r.state)).toEqual(['healthy']);
  }, 30_000);

  it('700 inputs as JSON floats (over 8 MB) come from a spoke directly and through the proxy', async () => {
    for (const url of [spoke.url, proxy.url]) {
      const res = await postJson(`${url}/v1/embeddings`, { model: 'embed', input: inputs(700), encoding_format: 'float' });
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text.length).toBeGreaterThan(8 * 1024 * 1024);
      const { data } = JSON.parse(text) as { data: { embedding: number[] }[] };
      expect(data).toHaveLength(700);
      expect(data[699].embedding).toHaveLength(1536);
    }
  }, 30_000);
});
