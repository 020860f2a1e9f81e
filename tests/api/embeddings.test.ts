/**
 * POST /v1/embeddings with the real OpenAI SDK (its default base64 path and
 * `encoding_format: 'float'`) against a fake OpenAI server and the simulated provider:
 * OpenAI's answer shape, the same float32 numbers both ways down to the byte, inputs in
 * order, token ids, dimensions, the headers, and what a chat model and an embeddings
 * model each refuse.
 */
import { expect } from '@jest/globals';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { decodeVectorBase64 } from '../fakes/vectors';
import { jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';

interface EmbeddingsAnswer<E = number[] | string> {
  object: string;
  data: Array<{ object: string; index: number; embedding: E }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

const MODEL = 'text-embedding-3-small';
const TEXTS = ['The gateway routes requests.', 'Schools upload documents.', 'A knowledge base answers questions.'];

describe('POST /v1/embeddings (OpenAI and simulated targets)', () => {
  let openai: FakeOpenAI;
  let selfHosted: FakeOpenAI;
  let gw: TestGateway;
  const embeddingRequests = (fake: FakeOpenAI) => fake.requests.filter((r) => r.path === '/v1/embeddings');

  beforeAll(async () => {
    [openai, selfHosted] = await Promise.all([startFakeOpenAI({ apiKey: 'sk-test-0123456789' }), startFakeOpenAI({ embeddings: { floatOnly: true } })]);
    process.env.EMBED_TEST_OPENAI_KEY = 'sk-test-0123456789';
    gw = await startGateway(
      {
        providers: [
          { id: 'oa', type: 'openai', accounts: [{ id: 'org', credentials: { env: 'EMBED_TEST_OPENAI_KEY' }, endpoints: [{ region: 'global', url: openai.url }] }] },
          { id: 'ollama', type: 'openai-compatible', accounts: [{ id: 'box', endpoints: [{ region: 'dc', url: selfHosted.url }] }] },
          {
            id: 'sim',
            type: 'simulated',
            accounts: [
              { id: 'a', endpoints: [{ region: 'r1', latencyMs: 1 }] },
              { id: 'b', endpoints: [{ region: 'r2', latencyMs: 1 }] },
            ],
          },
        ],
        models: [
          { name: 'embed', api: 'embeddings', targets: [{ provider: 'oa', model: 'text-embedding-3-small' }] },
          { name: 'local-embed', api: 'embeddings', targets: [{ provider: 'ollama', model: 'nomic-embed-text' }] },
          { name: 'sim-embed', api: 'embeddings', targets: [{ provider: 'sim', model: 'sim-embed-1' }] },
          { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] },
        ],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([openai.close(), selfHosted.close()]);
  });

  it("answers in OpenAI's shape through the SDK's default base64 path, with usage, model and route headers", async () => {
    const { data, response } = await gw.client.embeddings.create({ model: 'embed', input: TEXTS }).withResponse();
    expect(data.object).toBe('list');
    expect(data.model).toBe('text-embedding-3-small');
    expect(data.data.map((d) => [d.object, d.index])).toEqual(TEXTS.map((_, i) => ['embedding', i]));
    for (const d of data.data) expect(d.embedding).toHaveLength(1536);
    // The fake counts a token per four characters of each text.
    const tokens = TEXTS.reduce((n, t) => n + Math.ceil(t.length / 4), 0);
    expect(data.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    expect(response.headers.get('x-gateway-route')).toBe('oa/org/global/text-embedding-3-small');
    expect(response.headers.get('x-gateway-attempts')).toBe('1');
    expect(response.headers.get('x-gateway-batches')).toBe('1');
    // OpenAI is asked for base64 whatever the client asked, with the account's key.
    const sent = embeddingRequests(openai).at(-1)!;
    expect(sent.body).toEqual({ model: 'text-embedding-3-small', input: TEXTS, encoding_format: 'base64' });
    expect(sent.headers.authorization).toBe('Bearer sk-test-0123456789');
  });

  it('gives the same float32 vectors as float and as base64, byte for byte, and as the provider made them', async () => {
    const asFloat = await gw.client.embeddings.create({ model: 'embed', input: TEXTS, encoding_format: 'float' });
    const raw = await jsonOf<EmbeddingsAnswer<string>>(await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input: TEXTS, encoding_format: 'base64' }));
    const direct = await jsonOf<EmbeddingsAnswer<number[]>>(
      await postJson(`${openai.url}/embeddings`, { model: 'text-embedding-3-small', input: TEXTS, encoding_format: 'float' }, { authorization: 'Bearer sk-test-0123456789' }),
    );
    for (let i = 0; i < TEXTS.length; i++) {
      const floats = asFloat.data[i].embedding;
      // Every float is a float32 value, exactly: its float32 bytes are the base64 answer's.
      expect(floats.every((v) => Math.fround(v) === v)).toBe(true);
      expect(Buffer.from(new Float32Array(floats).buffer).toString('base64')).toBe(raw.data[i].embedding);
      expect(decodeVectorBase64(raw.data[i].embedding)).toEqual(floats);
      // The provider's own float answer (float32 values as text) reads as the same float32 values.
      expect(direct.data[i].embedding.map(Math.fround)).toEqual(floats);
    }
  });

  it("passes OpenAI's own answer on as it came when it is in the client's encoding (indented as api.openai.com writes it)", async () => {
    openai.options.embeddings = { pretty: true };
    try {
      const viaGateway = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input: TEXTS, encoding_format: 'base64' });
      const direct = await postJson(`${openai.url}/embeddings`, { model: MODEL, input: TEXTS, encoding_format: 'base64' }, { authorization: 'Bearer sk-test-0123456789' });
      const text = await viaGateway.text();
      expect(text).toBe(await direct.text());
      expect(text).toContain('\n  "usage": {');
      // Asked for float, the gateway converts OpenAI's base64: its own JSON, the same float32 values.
      const floats = await jsonOf<EmbeddingsAnswer<number[]>>(await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input: TEXTS, encoding_format: 'float' }));
      const b64 = JSON.parse(text) as EmbeddingsAnswer<string>;
      expect(floats.data.map((d) => d.embedding)).toEqual(b64.data.map((d) => decodeVectorBase64(d.embedding)));
      expect(floats.usage).toEqual(b64.usage);
    } finally {
      openai.options.embeddings = {};
    }
  });

  it('passes a large answer on byte for byte, its Content-Length that of the parts read (64 vectors, about 0.53 MB, indented)', async () => {
    openai.options.embeddings = { pretty: true };
    try {
      const input = Array.from({ length: 64 }, (_, i) => `Passage ${i} of the school handbook.`);
      const viaGateway = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input, encoding_format: 'base64' });
      const direct = await postJson(`${openai.url}/embeddings`, { model: MODEL, input, encoding_format: 'base64' }, { authorization: 'Bearer sk-test-0123456789' });
      const text = await viaGateway.text();
      // Loopback reads are at most 64 KB: the gateway got this answer in many parts.
      expect(text.length).toBeGreaterThan(500_000);
      expect(viaGateway.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
      expect(text).toBe(await direct.text());
      expect((JSON.parse(text) as EmbeddingsAnswer<string>).data.map((d) => decodeVectorBase64(d.embedding).length)).toEqual(input.map(() => 1536));
    } finally {
      openai.options.embeddings = {};
    }
  });

  it('a server that reports no usage: the gateway estimates it, and still answers in the asked encoding', async () => {
    selfHosted.options.embeddings = { floatOnly: true, noUsage: true };
    try {
      const data = await gw.client.embeddings.create({ model: 'local-embed', input: TEXTS });
      expect(data.usage.prompt_tokens).toBe(TEXTS.reduce((n, t) => n + Math.ceil(t.length / 4), 0));
      expect(data.data.map((d) => d.embedding.length)).toEqual([1536, 1536, 1536]);
    } finally {
      selfHosted.options.embeddings = { floatOnly: true };
    }
  });

  it('sends a single string, token ids and arrays of token ids as OpenAI takes them, with dimensions and user', async () => {
    const one = await gw.client.embeddings.create({ model: 'embed', input: 'one text', dimensions: 256, user: 'u-7' });
    expect(one.data).toHaveLength(1);
    expect(one.data[0].embedding).toHaveLength(256);
    expect(embeddingRequests(openai).at(-1)!.body).toEqual({ model: 'text-embedding-3-small', input: ['one text'], encoding_format: 'base64', dimensions: 256, user: 'u-7' });

    const ids = await gw.client.embeddings.create({ model: 'embed', input: [1, 2, 3], encoding_format: 'float' });
    expect(ids.data).toHaveLength(1);
    expect(ids.usage.prompt_tokens).toBe(3);
    expect(embeddingRequests(openai).at(-1)!.body).toMatchObject({ input: [[1, 2, 3]] });

    const many = await gw.client.embeddings.create({
      model: 'embed',
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    expect(many.data.map((d) => d.index)).toEqual([0, 1]);
    expect(many.usage.prompt_tokens).toBe(5);
    // The same token ids, the same vector.
    expect(many.data[0].embedding).toEqual(ids.data[0].embedding);
  });

  it('reads a self-hosted server that ignores encoding_format, and still gives the SDK base64', async () => {
    const data = await gw.client.embeddings.create({ model: 'local-embed', input: TEXTS });
    expect(data.data).toHaveLength(3);
    const asFloat = await gw.client.embeddings.create({ model: 'local-embed', input: TEXTS, encoding_format: 'float' });
    // The SDK decoded the gateway's base64 into the float32 values of the server's numbers.
    expect(data.data[0].embedding).toEqual(asFloat.data[0].embedding.map(Math.fround));
    const sent = embeddingRequests(selfHosted);
    // A self-hosted server is asked for what the client asked for (the SDK: base64), and gets no OpenAI-only fields.
    expect(sent.at(-2)!.body).toEqual({ model: 'nomic-embed-text', input: TEXTS, encoding_format: 'base64' });
    expect(sent.at(-1)!.body).toEqual({ model: 'nomic-embed-text', input: TEXTS });
    expect(sent.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('simulated: deterministic unit vectors, the same text the same vector on every route, dimensions honoured', async () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 6; i++) {
      const { data, response } = await gw.client.embeddings.create({ model: 'sim-embed', input: ['alpha', 'beta'], encoding_format: 'float' }).withResponse();
      seen.set(response.headers.get('x-gateway-route')!, JSON.stringify(data.data.map((d) => d.embedding)));
      expect(data.data[0].embedding).toHaveLength(1536);
      const norm = Math.hypot(...data.data[0].embedding);
      expect(norm).toBeCloseTo(1, 5);
    }
    // Both accounts served, with the same vectors.
    expect(seen.size).toBe(2);
    expect(new Set(seen.values()).size).toBe(1);
    const [alpha, beta] = JSON.parse([...seen.values()][0]) as number[][];
    expect(alpha).not.toEqual(beta);
    const short = await gw.client.embeddings.create({ model: 'sim-embed', input: 'alpha', dimensions: 64, encoding_format: 'float' });
    expect(short.data[0].embedding).toHaveLength(64);
    expect(Math.hypot(...short.data[0].embedding)).toBeCloseTo(1, 5);
  });

  it('lists embeddings models in GET /v1/models beside chat models', async () => {
    const ids = (await gw.client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(['embed', 'local-embed', 'sim-embed', 'chat']);
  });

  it('refuses chat on an embeddings model and embeddings on a chat model with a 400 naming model', async () => {
    const before = openai.requests.length;
    const chat = await postJson(`${gw.url}/v1/chat/completions`, { model: 'embed', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(400);
    const chatError = (await jsonOf<ErrorBody>(chat)).error;
    expect(chatError).toMatchObject({ type: 'invalid_request_error', param: 'model', code: 'model_not_supported' });
    expect(chatError.message).toMatch(/"embed" is an embeddings model.*POST \/v1\/embeddings/);
    const embed = await postJson(`${gw.url}/v1/embeddings`, { model: 'chat', input: 'hi' });
    expect(embed.status).toBe(400);
    const embedError = (await jsonOf<ErrorBody>(embed)).error;
    expect(embedError).toMatchObject({ param: 'model', code: 'model_not_supported' });
    expect(embedError.message).toMatch(/"chat" is a chat model/);
    expect((await postJson(`${gw.url}/v1/embeddings`, { model: 'nope', input: 'hi' })).status).toBe(404);
    expect(openai.requests.length).toBe(before);
  });

  describe('bad input: a 400 in the OpenAI shape naming the field, and nothing sent upstream', () => {
    const cases: Array<[string, unknown, string | null, RegExp]> = [
      ['invalid JSON', '{"model": "embed", "input": [', null, /not valid JSON/],
      ['a missing model', { input: 'hi' }, 'model', /missing required parameter/],
      ['a missing input', { model: 'embed' }, 'input', /missing required parameter/],
      ['an empty string', { model: 'embed', input: '' }, 'input', /empty string/],
      ['an empty string among others', { model: 'embed', input: ['a', 'b', 'c', ''] }, 'input[3]', /empty string/],
      ['an empty array', { model: 'embed', input: [] }, 'input', /empty array/],
      ['too many inputs', { model: 'embed', input: Array.from({ length: 2049 }, (_, i) => `t${i}`) }, 'input', /at most 2048 inputs/],
      ['a number among strings', { model: 'embed', input: ['a', 7] }, 'input[1]', /expected a string like the other inputs, got number/],
      ['token ids that are not integers', { model: 'embed', input: [1, 2.5, 3] }, 'input[1]', /non-negative integers, got 2.5/],
      [
        'a negative token id in an array of arrays',
        {
          model: 'embed',
          input: [
            [1, 2],
            [3, -4],
          ],
        },
        'input[1][1]',
        /non-negative integers, got -4/,
      ],
      ['an empty token array', { model: 'embed', input: [[1], []] }, 'input[1]', /empty token array/],
      ['an object as input', { model: 'embed', input: { text: 'hi' } }, 'input', /got object/],
      ['an unknown encoding', { model: 'embed', input: 'hi', encoding_format: 'int8' }, 'encoding_format', /.+/],
      ['zero dimensions', { model: 'embed', input: 'hi', dimensions: 0 }, 'dimensions', /.+/],
      ['an unknown input_type', { model: 'embed', input: 'hi', input_type: 'image' }, 'input_type', /.+/],
      ['an unsupported parameter', { model: 'embed', input: 'hi', truncate: 'END' }, 'truncate', /Unrecognized request argument supplied: truncate/],
    ];
    it.each(cases)('%s', async (_name, body, param, message) => {
      const before = embeddingRequests(openai).length;
      const res = await postJson(`${gw.url}/v1/embeddings`, body);
      expect(res.status).toBe(400);
      const { error } = await jsonOf<ErrorBody>(res);
      expect(error.type).toBe('invalid_request_error');
      expect(error.param).toBe(param);
      expect(error.message).toMatch(message);
      expect(embeddingRequests(openai).length).toBe(before);
    });
  });
});
