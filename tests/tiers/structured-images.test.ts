/**
 * Images and structured outputs in the proxy/spoke topology: the proxy's thin hop
 * forwards the body unvalidated and the spoke does the rest (image blocks for Bedrock,
 * its 400 for a URL Bedrock cannot take, strict answers held and validated, its 502
 * invalid_structured_output passed on); a proxy with guardrails validates in full, and
 * its guardrails read the text while the images pass.
 */
import { expect } from '@jest/globals';
import OpenAI from 'openai';
import { startFakeBedrock, type BedrockRecordedRequest, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { dataUrl, imageMessage, png } from '../helpers/images';
import { bodyOf, type ConverseWire } from '../helpers/wire-bodies';

const SCHEMA = { type: 'object', properties: { label: { type: 'string' } }, required: ['label'], additionalProperties: false };
const FORMAT = { type: 'json_schema', json_schema: { name: 'label', schema: SCHEMA, strict: true } };
const IMAGE = png(320, 200, 512);

describe('proxy -> spoke with Bedrock behind it', () => {
  let bedrock: FakeBedrock;
  let spoke: TestGateway;
  let proxy: TestGateway;
  let guarded: TestGateway;
  const lastBedrock = () => bodyOf<ConverseWire>(bedrock.requests.at(-1));

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKEFAKEFAKE';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
    bedrock = await startFakeBedrock({
      reply: (req: BedrockRecordedRequest) => {
        const name = bodyOf<ConverseWire>(req).toolConfig?.toolChoice?.tool?.name;
        return name ? { toolCalls: [{ name, input: { label: 'a cat' } }] } : { text: 'A cat on a mat.' };
      },
    });
    spoke = await startGateway(
      {
        providers: [{ id: 'br', type: 'bedrock', accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'br', model: 'amazon.nova-pro-v1:0' }] }],
      },
      'spoke',
      { probes: false },
    );
    const proxyConfig = { spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] };
    proxy = await startGateway(proxyConfig, 'proxy', { probes: false });
    guarded = await startGateway({ ...proxyConfig, guardrails: [{ id: 'no-secrets', local: { deny: ['password'], mask: ['email'] } }] }, 'proxy', { probes: false });
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), guarded.close()]);
    await spoke.close();
    await bedrock.close();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  it('an image reaches Bedrock as bytes through the thin hop, and through the guarded proxy', async () => {
    for (const gw of [proxy, guarded]) {
      const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [imageMessage('Describe it, mail me at ann@example.com', dataUrl(IMAGE))] });
      expect(res.status).toBe(200);
      const content = lastBedrock().messages[0].content;
      expect(Buffer.from(content[1].image!.source.bytes, 'base64').equals(IMAGE)).toBe(true);
      // Guardrails read the text (masked) and let the image through.
      expect(content[0].text).toBe(gw === guarded ? 'Describe it, mail me at [EMAIL]' : 'Describe it, mail me at ann@example.com');
    }
    const blocked = await postJson(`${guarded.url}/v1/chat/completions`, { model: 'chat', messages: [imageMessage('my password is hunter2', dataUrl(IMAGE))] });
    expect(blocked.status).toBe(400);
    expect((await jsonOf<ErrorBody>(blocked)).error.code).toBe('content_filter');
  });

  it("a URL Bedrock cannot take gets the spoke's 400 naming the part, and nothing reaches Bedrock", async () => {
    const before = bedrock.requests.length;
    for (const gw of [proxy, guarded]) {
      const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [imageMessage('Describe it', 'https://example.com/cat.png')] });
      expect(res.status).toBe(400);
      expect((await jsonOf<ErrorBody>(res)).error).toMatchObject({ param: 'messages[0].content[1].image_url.url', code: 'unsupported_image' });
    }
    expect(bedrock.requests.length).toBe(before);
  });

  it('a strict stream is held by the spoke, validated, and arrives whole through the proxy', async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'chat',
      stream: true,
      messages: [imageMessage('Label it', dataUrl(IMAGE))],
      response_format: FORMAT as OpenAI.ResponseFormatJSONSchema,
    });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    expect(JSON.parse(content)).toEqual({ label: 'a cat' });
    expect(lastBedrock().toolConfig?.toolChoice).toEqual({ tool: { name: 'label' } });
  });
});

describe('proxy -> spoke, strict answers that never validate', () => {
  let upstream: FakeOpenAI;
  let spokes: TestGateway[];
  let proxy: TestGateway;
  beforeAll(async () => {
    upstream = await startFakeOpenAI({ reply: '{"label": 42}' });
    const spokeConfig = {
      providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'a', endpoints: [{ region: 'r', url: upstream.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }] }],
    };
    spokes = await Promise.all([startGateway(spokeConfig, 'spoke', { probes: false }), startGateway(spokeConfig, 'spoke', { probes: false })]);
    proxy = await startGateway(
      {
        spokes: spokes.map((s, i) => ({ id: `spoke-${i}`, url: s.url })),
        models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
      },
      'proxy',
      { probes: false },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all(spokes.map((s) => s.close()));
    await upstream.close();
  });

  it("each spoke is tried, none ejected, and the client gets the spoke's 502 invalid_structured_output", async () => {
    const res = await postJson(`${proxy.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'Label it' }], response_format: FORMAT });
    expect(res.status).toBe(502);
    const { error } = await jsonOf<ErrorBody>(res);
    expect(error.code).toBe('invalid_structured_output');
    expect(error.message).toContain('spokes/spoke-0/');
    expect(error.message).toContain('spokes/spoke-1/');
    for (const route of proxy.gateway.routeTable.allRoutes()) expect(proxy.gateway.stats.get(route.key).circuit.state()).toBe('closed');
  });
});
