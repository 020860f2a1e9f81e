/**
 * Embeddings on Bedrock through the gateway: the OpenAI SDK as client, the real AWS SDK
 * inside the gateway, a wire-faithful fake Bedrock (InvokeModel with SigV4, the models'
 * own bodies, the token count header). Titan takes one text per call and every call
 * counts against rpm; Cohere takes 96 and an input_type.
 */
import { expect } from '@jest/globals';
import { fakeTokenCount } from '../fakes/bedrock-invoke';
import { startFakeBedrock, type BedrockRecordedRequest, type FakeBedrock } from '../fakes/bedrock';
import { fakeVector } from '../fakes/vectors';
import { useFakeAwsCredentials } from '../helpers/aws-credentials';
import type { RequestEvent } from '../../runtime/src/observability/events';
import { healthOf, jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

const TITAN = 'amazon.titan-embed-text-v2:0';
const COHERE = 'cohere.embed-english-v3';
const COHERE_V4 = 'cohere.embed-v4:0';

const texts = (n: number, prefix = 'chunk') => Array.from({ length: n }, (_, i) => `${prefix} ${i}: a paragraph of a school document`);

describe('embeddings on Bedrock (Titan Text Embeddings v2, Cohere Embed)', () => {
  useFakeAwsCredentials();
  let bedrock: FakeBedrock;
  let gw: TestGateway;
  const invokes = (model: string): BedrockRecordedRequest[] => bedrock.requests.filter((r) => r.operation === 'invoke' && r.modelId === model);

  beforeAll(async () => {
    bedrock = await startFakeBedrock();
    gw = await startGateway(
      {
        providers: [
          {
            id: 'br',
            type: 'bedrock',
            accounts: [{ id: 'acct', limits: { [TITAN]: { rpm: 500, tpm: 1_000_000 } }, endpoints: [{ region: 'us-east-1', url: bedrock.url }] }],
          },
        ],
        models: [
          { name: 'titan', api: 'embeddings', targets: [{ provider: 'br', model: TITAN }] },
          { name: 'cohere', api: 'embeddings', targets: [{ provider: 'br', model: COHERE }] },
          { name: 'cohere-v4', api: 'embeddings', targets: [{ provider: 'br', model: COHERE_V4 }] },
          // Declared one vector space by the operator: v3 first, v4 for what v3 cannot make.
          {
            name: 'cohere-any',
            api: 'embeddings',
            interchangeable: true,
            targets: [
              { provider: 'br', model: COHERE },
              { provider: 'br', model: COHERE_V4 },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await bedrock.close();
  });

  it('Titan: one signed InvokeModel per text, vectors in input order, usage from Bedrock, every call one request against rpm', async () => {
    const input = texts(50);
    const { data, response } = await gw.client.embeddings.create({ model: 'titan', input, encoding_format: 'float' }).withResponse();
    const calls = invokes(TITAN);
    expect(calls).toHaveLength(50);
    for (const call of calls) {
      expect(call.method).toBe('POST');
      expect(call.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFAKEFAKEFAKE\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
      expect(call.headers['content-type']).toBe('application/json');
      expect(Object.keys(call.body as object).sort()).toEqual(['inputText', 'normalize']);
      expect(call.body).toMatchObject({ normalize: true });
    }
    expect(calls.map((c) => (c.body as { inputText: string }).inputText).sort()).toEqual([...input].sort());
    // Each vector is the one Titan made for that text, in input order.
    expect(data.data.map((d) => d.index)).toEqual(input.map((_, i) => i));
    input.forEach((text, i) => expect(data.data[i].embedding.map(Math.fround)).toEqual(fakeVector(`${TITAN}\n${text}`, 1024)));
    const tokens = input.reduce((n, t) => n + fakeTokenCount(t), 0);
    expect(data.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    expect(data.model).toBe(TITAN);
    expect(response.headers.get('x-gateway-batches')).toBe('50');
    expect(response.headers.get('x-gateway-attempts')).toBe('50');
    expect(response.headers.get('x-gateway-route')).toBe(`br/acct/us-east-1/${TITAN}`);
    // 50 texts are 50 requests against the account's rpm, and their real tokens against its tpm.
    const route = (await healthOf(gw.url)).routes.find((r) => r.route === `br/acct/us-east-1/${TITAN}`)!;
    expect(route.headroom).toMatchObject({ requestsUsed: 50, tokensUsed: tokens, rpm: 500 });
  });

  it('Titan: dimensions 256, 512 or 1024 go to the model; others, and token ids, are a 400 naming the field before anything is sent', async () => {
    const short = await gw.client.embeddings.create({ model: 'titan', input: 'one text', dimensions: 512 });
    expect(short.data[0].embedding).toHaveLength(512);
    expect(invokes(TITAN).at(-1)!.body).toEqual({ inputText: 'one text', normalize: true, dimensions: 512 });

    const before = bedrock.requests.length;
    const dims = await postJson(`${gw.url}/v1/embeddings`, { model: 'titan', input: 'one text', dimensions: 768 });
    expect(dims.status).toBe(400);
    expect((await jsonOf<ErrorBody>(dims)).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'dimensions',
      message: `${TITAN} makes vectors of 256, 512, 1024 dimensions, not 768`,
    });
    const ids = await postJson(`${gw.url}/v1/embeddings`, { model: 'titan', input: [[101, 102, 103]] });
    expect(ids.status).toBe(400);
    expect((await jsonOf<ErrorBody>(ids)).error).toMatchObject({ param: 'input', message: expect.stringMatching(/takes text, not token ids/) as unknown });
    expect(bedrock.requests.length).toBe(before);
  });

  it('Titan: a text the model refuses comes back as its 400, with its words', async () => {
    const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'titan', input: 'x'.repeat(50_001) });
    expect(res.status).toBe(400);
    expect((await jsonOf<ErrorBody>(res)).error.message).toMatch(/expected maxLength: 50000, actual: 50001/);
  });

  it('Cohere: 96 texts a call, input_type search_document by default, vectors in order, tokens from the header', async () => {
    const input = texts(200, 'doc');
    const { data, response } = await gw.client.embeddings.create({ model: 'cohere', input, encoding_format: 'float' }).withResponse();
    const calls = invokes(COHERE).map((c) => c.body as { texts: string[]; input_type: string; embedding_types: string[] });
    expect(calls.map((c) => c.texts.length).sort((a, b) => b - a)).toEqual([96, 96, 8]);
    expect(calls.flatMap((c) => c.texts).sort()).toEqual([...input].sort());
    for (const c of calls) expect(c).toEqual({ texts: c.texts, input_type: 'search_document', embedding_types: ['float'] });
    input.forEach((text, i) => expect(data.data[i].embedding.map(Math.fround)).toEqual(fakeVector(`${COHERE}\nsearch_document\n${text}`, 1024)));
    const tokens = input.reduce((n, t) => n + fakeTokenCount(t), 0);
    expect(data.usage.prompt_tokens).toBe(tokens);
    expect(response.headers.get('x-gateway-batches')).toBe('3');
  });

  it('Cohere: the client asks for another input_type with the input_type extension, and gets its vectors', async () => {
    const query = await gw.client.embeddings.create({ model: 'cohere', input: 'which schools upload documents?', encoding_format: 'float', input_type: 'search_query' } as never);
    expect(invokes(COHERE).at(-1)!.body).toMatchObject({ input_type: 'search_query' });
    const document = await gw.client.embeddings.create({ model: 'cohere', input: 'which schools upload documents?', encoding_format: 'float' });
    expect((query as { data: Array<{ embedding: number[] }> }).data[0].embedding).not.toEqual(document.data[0].embedding);
    expect((query as { data: Array<{ embedding: number[] }> }).data[0].embedding.map(Math.fround)).toEqual(fakeVector(`${COHERE}\nsearch_query\nwhich schools upload documents?`, 1024));
  });

  it('Titan: a ThrottlingException moves that text to the other region, whose route keeps serving while the throttled one cools down', async () => {
    const twoRegions = await startGateway(
      {
        providers: [{ id: 'br', type: 'bedrock', accounts: [{ id: 'acct', endpoints: ['us-east-1', 'us-west-2'].map((region) => ({ region, url: bedrock.url })) }] }],
        models: [{ name: 'titan', api: 'embeddings', targets: [{ provider: 'br', model: TITAN }], batch: { concurrency: 1 } }],
      },
      'all-in-one',
      { probes: false },
    );
    try {
      const before = invokes(TITAN).length;
      bedrock.faults.push({ kind: 'status', status: 429 });
      const { data, response } = await twoRegions.client.embeddings.create({ model: 'titan', input: ['a', 'b', 'c'] }).withResponse();
      expect(data.data).toHaveLength(3);
      expect(invokes(TITAN).length - before).toBe(4);
      expect(response.headers.get('x-gateway-attempts')).toBe('4');
      const states = (await healthOf(twoRegions.url)).routes.map((r) => r.state).sort();
      expect(states).toEqual(['cooldown', 'healthy']);
    } finally {
      await twoRegions.close();
    }
  });

  it('Cohere: v4 takes dimensions as output_dimension; v3 makes 1024 only', async () => {
    const v4 = await gw.client.embeddings.create({ model: 'cohere-v4', input: ['a', 'b'], dimensions: 256 });
    expect(v4.data.map((d) => d.embedding.length)).toEqual([256, 256]);
    expect(invokes(COHERE_V4).at(-1)!.body).toEqual({ texts: ['a', 'b'], input_type: 'search_document', embedding_types: ['float'], output_dimension: 256 });
    const full = await gw.client.embeddings.create({ model: 'cohere-v4', input: 'a' });
    expect(full.data[0].embedding).toHaveLength(1536);
    const v3 = await postJson(`${gw.url}/v1/embeddings`, { model: 'cohere', input: 'a', dimensions: 256 });
    expect(v3.status).toBe(400);
    expect((await jsonOf<ErrorBody>(v3)).error).toMatchObject({ param: 'dimensions', message: `${COHERE} makes vectors of 1024 dimensions, not 256` });
  });

  it('a target that cannot make the asked size is passed over, with why, and the next one serves', async () => {
    const events: RequestEvent[] = [];
    const unsubscribe = gw.gateway.events.subscribe((ev) => void (ev.type === 'request' && events.push(ev)));
    try {
      const v3Calls = invokes(COHERE).length;
      const { data, response } = await gw.client.embeddings.create({ model: 'cohere-any', input: ['a', 'b'], dimensions: 512 }).withResponse();
      expect(data.data.map((d) => d.embedding.length)).toEqual([512, 512]);
      expect(data.model).toBe(COHERE_V4);
      expect(response.headers.get('x-gateway-route')).toBe(`br/acct/us-east-1/${COHERE_V4}`);
      expect(response.headers.get('x-gateway-attempts')).toBe('1');
      expect(invokes(COHERE)).toHaveLength(v3Calls);
      // Earlier tests' events may still be on their way: this request's is the one for its model.
      expect(await until(() => events.some((ev) => ev.model === 'cohere-any'))).toBe(true);
      expect(events.find((ev) => ev.model === 'cohere-any')!.attempts).toEqual([
        expect.objectContaining({ route: `br/acct/us-east-1/${COHERE}`, outcome: 'unsupported', message: `${COHERE} makes vectors of 1024 dimensions, not 512` }),
        expect.objectContaining({ route: `br/acct/us-east-1/${COHERE_V4}`, outcome: 'ok' }),
      ]);
    } finally {
      unsubscribe();
    }
  });
});
