/**
 * Image content parts through the gateway: data: URLs reach Bedrock as image bytes (real
 * SDK against the fake), Anthropic as base64 sources, OpenAI-style targets as sent, and
 * the simulated provider, which counts them by pixel size. http(s) URLs reach only the
 * providers that fetch images themselves; the gateway never fetches one, passes over a
 * route that cannot take it, and answers 400 naming the part when no route can, with
 * nothing sent upstream. Providers' size and count limits are 400s before sending.
 */
import { expect } from '@jest/globals';
import type OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeAnthropic, FAKE_ANTHROPIC_KEY, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { dataUrl, imageMessage, png } from '../helpers/images';
import { bodyOf, type AnthropicWire, type ConverseWire, type OpenAIWire } from '../helpers/wire-bodies';

const MB = 1024 * 1024;
const IMAGE = png(640, 480, 2048);
const URL_IMAGE = 'https://images.example.com/cat.png';
const PART = 'messages[0].content[1].image_url.url';
type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
const ask = (...urls: string[]) => ({ model: 'chat', messages: [imageMessage('What is in this picture?', ...urls)] });

let bedrock: FakeBedrock;
let anthropic: FakeAnthropic;
let openai: FakeOpenAI;
let gw: TestGateway | undefined;

const providers = () => ({
  br: { id: 'br', type: 'bedrock' as const, accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] },
  an: { id: 'an', type: 'anthropic' as const, accounts: [{ id: 'a', credentials: { env: 'ANTHROPIC_TEST_KEY' }, endpoints: [{ region: 'r', url: anthropic.url }] }] },
  oa: { id: 'oa', type: 'openai' as const, accounts: [{ id: 'a', endpoints: [{ region: 'r', url: openai.url }] }] },
  sim: { id: 'sim', type: 'simulated' as const, accounts: [{ id: 'a', endpoints: [{ region: 'local', latencyMs: 1, tokensPerSecond: 5000, seed: 1 }] }] },
});
const MODELS: Record<string, string> = { br: 'amazon.nova-pro-v1:0', an: 'claude-sonnet-4-5', oa: 'gpt-4o', sim: 'sim-model' };

/** A gateway whose model `chat` has these targets, in order. */
async function gatewayOf(targets: Array<keyof ReturnType<typeof providers>>, server: Record<string, unknown> = {}): Promise<TestGateway> {
  const all = providers();
  const config: GatewayConfigInput = {
    server,
    providers: targets.map((t) => all[t]),
    models: [{ name: 'chat', targets: targets.map((t) => ({ provider: t, model: MODELS[t] })) }],
  };
  gw = await startGateway(config);
  return gw;
}

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
  process.env.OPENAI_API_KEY = 'sk-fake';
  process.env.ANTHROPIC_TEST_KEY = FAKE_ANTHROPIC_KEY;
  [bedrock, anthropic, openai] = await Promise.all([startFakeBedrock(), startFakeAnthropic(), startFakeOpenAI()]);
});
afterAll(async () => {
  await Promise.all([bedrock.close(), anthropic.close(), openai.close()]);
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_TEST_KEY']) delete process.env[k];
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('data: URLs reach every target kind', () => {
  it('Bedrock: an image block with the bytes, whole and streamed', async () => {
    const g = await gatewayOf(['br']);
    const answer = await g.client.chat.completions.create(ask(dataUrl(IMAGE)) as Params);
    expect(answer.choices[0].message.content).toBeTruthy();
    const content = bodyOf<ConverseWire>(bedrock.requests.at(-1)).messages[0].content;
    expect(content[0]).toEqual({ text: 'What is in this picture?' });
    expect(content[1].image?.format).toBe('png');
    expect(Buffer.from(content[1].image!.source.bytes, 'base64').equals(IMAGE)).toBe(true);

    const stream = await g.client.chat.completions.create({ ...ask(dataUrl(png(10, 10), 'image/png')), stream: true } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(bodyOf<ConverseWire>(bedrock.requests.at(-1)).messages[0].content[1].image?.format).toBe('png');
  });

  it('Anthropic: a base64 image source', async () => {
    const g = await gatewayOf(['an']);
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
    await g.client.chat.completions.create(ask(dataUrl(jpeg, 'image/jpeg')) as Params);
    const content = bodyOf<AnthropicWire>(anthropic.requests.at(-1)).messages[0].content;
    expect(content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: jpeg.toString('base64') } });
  });

  it('OpenAI: the part as the client sent it', async () => {
    const g = await gatewayOf(['oa']);
    const body = ask(dataUrl(IMAGE));
    await g.client.chat.completions.create(body as Params);
    expect(bodyOf<OpenAIWire>(openai.requests.at(-1)).messages).toEqual(body.messages);
  });

  it('simulated: accepted, and counted by pixel size, not by the length of its base64', async () => {
    const g = await gatewayOf(['sim']);
    // 1024 x 1024 px padded to 300 KB: about 100,000 "tokens" of base64 text, some 1,400 tokens of image.
    const answer = await g.client.chat.completions.create(ask(dataUrl(png(1024, 1024, 300 * 1024))) as Params);
    expect(answer.usage!.prompt_tokens).toBeGreaterThanOrEqual(1398);
    expect(answer.usage!.prompt_tokens).toBeLessThan(1500);
  });
});

describe('http(s) URLs: only where the provider fetches them, never by the gateway', () => {
  it('are passed to OpenAI and to Anthropic as a URL source', async () => {
    const g = await gatewayOf(['oa']);
    await g.client.chat.completions.create(ask(URL_IMAGE) as Params);
    expect(bodyOf<OpenAIWire>(openai.requests.at(-1)).messages[0].content).toContainEqual({ type: 'image_url', image_url: { url: URL_IMAGE } });
    await g.close();

    const a = await gatewayOf(['an']);
    await a.client.chat.completions.create(ask(URL_IMAGE) as Params);
    expect(bodyOf<AnthropicWire>(anthropic.requests.at(-1)).messages[0].content[1]).toEqual({ type: 'image', source: { type: 'url', url: URL_IMAGE } });
  });

  it.each([['br'], ['sim']] as const)('are a 400 naming the part when every target is %s, and nothing goes upstream', async (target) => {
    const g = await gatewayOf([target]);
    const before = bedrock.requests.length;
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(URL_IMAGE));
    expect(res.status).toBe(400);
    const { error } = await jsonOf<ErrorBody>(res);
    expect(error).toMatchObject({ param: PART, code: 'unsupported_image', type: 'invalid_request_error' });
    expect(error.message).toContain('never fetches');
    expect(bedrock.requests.length).toBe(before);
  });

  it('pass over a target that cannot take them, with why, for one that can', async () => {
    const g = await gatewayOf(['br', 'oa']);
    const before = bedrock.requests.length;
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(URL_IMAGE));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-route')).toBe('oa/a/r/gpt-4o');
    expect(res.headers.get('x-gateway-attempts')).toBe('1');
    expect(bedrock.requests.length).toBe(before);

    // When the route that could take it fails, the listing says why the other was passed over.
    openai.always = { kind: 'status', status: 500 };
    try {
      const failed = await postJson(`${g.url}/v1/chat/completions`, ask(URL_IMAGE));
      expect(failed.status).toBe(502);
      expect((await jsonOf<ErrorBody>(failed)).error.message).toContain(`br/a/us-east-1/amazon.nova-pro-v1:0: unsupported (${PART}: Bedrock Converse cannot fetch image URLs`);
    } finally {
      openai.always = undefined;
    }
    expect(bedrock.requests.length).toBe(before);
  });
});

describe("providers' image limits, before sending", () => {
  const big = dataUrl(png(800, 600, 4 * MB)); // 4 MB: over Bedrock's 3.75 MB, over Anthropic's 5 MB of base64

  it('a Bedrock image over 3.75 MB, or a 21st image, is a 400 naming the part', async () => {
    const g = await gatewayOf(['br']);
    const before = bedrock.requests.length;
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(big));
    expect(res.status).toBe(400);
    const { error } = await jsonOf<ErrorBody>(res);
    expect(error.param).toBe(PART);
    expect(error.message).toContain('at most 3.75 MB per image');

    const many = await postJson(`${g.url}/v1/chat/completions`, ask(...Array.from({ length: 21 }, () => dataUrl(png(8, 8)))));
    expect(many.status).toBe(400);
    expect((await jsonOf<ErrorBody>(many)).error).toMatchObject({ param: 'messages[0].content[21].image_url.url', message: expect.stringContaining('at most 20 images') });
    expect(bedrock.requests.length).toBe(before);
  });

  it('Anthropic counts its 5 MB on the base64', async () => {
    const g = await gatewayOf(['an']);
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(big));
    expect(res.status).toBe(400);
    expect((await jsonOf<ErrorBody>(res)).error.message).toContain('of base64; Anthropic takes at most 5 MB per image');
  });

  it('an image wider or taller than 8000 px is a 400 for Bedrock, read from its header; OpenAI (which scales it) serves it', async () => {
    const g = await gatewayOf(['br']);
    const before = bedrock.requests.length;
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(dataUrl(png(100, 8001))));
    expect(res.status).toBe(400);
    expect((await jsonOf<ErrorBody>(res)).error).toMatchObject({
      param: PART,
      code: 'unsupported_image',
      message: expect.stringContaining('the image is 100 x 8001 px; Bedrock Converse takes at most 8000 x 8000 px per image'),
    });
    expect((await postJson(`${g.url}/v1/chat/completions`, ask(dataUrl(png(8000, 8000))))).status).toBe(200);
    expect(bedrock.requests.length).toBe(before + 1);
    await g.close();

    const both = await gatewayOf(['br', 'oa']);
    const wide = await postJson(`${both.url}/v1/chat/completions`, ask(dataUrl(png(8001, 100))));
    expect(wide.status).toBe(200);
    expect(wide.headers.get('x-gateway-route')).toBe('oa/a/r/gpt-4o');
    expect(bedrock.requests.length).toBe(before + 1);
  });

  it('Anthropic takes 2000 px at most in a request of more than 20 images, 8000 px otherwise', async () => {
    const g = await gatewayOf(['an']);
    const before = anthropic.requests.length;
    const wide = dataUrl(png(2001, 10));
    const twenty = await postJson(`${g.url}/v1/chat/completions`, ask(...Array.from({ length: 20 }, () => wide)));
    expect(twenty.status).toBe(200);
    const many = await postJson(`${g.url}/v1/chat/completions`, ask(dataUrl(png(8, 8)), wide, ...Array.from({ length: 19 }, () => dataUrl(png(8, 8)))));
    expect(many.status).toBe(400);
    expect((await jsonOf<ErrorBody>(many)).error).toMatchObject({
      param: 'messages[0].content[2].image_url.url',
      message: expect.stringContaining('the image is 2001 x 10 px; Anthropic takes at most 2000 x 2000 px per image in a request of more than 20 images (this one has 21)'),
    });
    const huge = await postJson(`${g.url}/v1/chat/completions`, ask(dataUrl(png(8001, 8001))));
    expect(huge.status).toBe(400);
    expect((await jsonOf<ErrorBody>(huge)).error.message).toContain('Anthropic takes at most 8000 x 8000 px per image');
    expect(anthropic.requests.length).toBe(before + 1);
  });

  it('a route whose limits the image passes serves it: a large image skips Bedrock for OpenAI', async () => {
    const g = await gatewayOf(['br', 'oa']);
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(big));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-route')).toBe('oa/a/r/gpt-4o');
  });
});

describe('bad image parts and body sizes', () => {
  it.each([
    ['another media type', 'data:image/bmp;base64,Qk0=', 'images must be image/png, image/jpeg, image/gif, image/webp'],
    ['data that is not base64', 'data:image/png;base64,not base64!', 'does not hold valid base64'],
    ['a URL of another scheme', 'ftp://example.com/cat.png', 'must be a data: URL'],
  ])('%s is a 400 naming the part', async (_what, url, message) => {
    const g = await gatewayOf(['oa']);
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(url));
    expect(res.status).toBe(400);
    expect((await jsonOf<ErrorBody>(res)).error).toMatchObject({ param: PART, code: 'invalid_image', message: expect.stringContaining(message) });
  });

  it('an image part outside a user message is a 400 naming it', async () => {
    const g = await gatewayOf(['oa']);
    const body = {
      model: 'chat',
      messages: [
        { role: 'system', content: [{ type: 'image_url', image_url: { url: dataUrl(IMAGE) } }] },
        { role: 'user', content: 'hi' },
      ],
    };
    const res = await postJson(`${g.url}/v1/chat/completions`, body);
    expect(res.status).toBe(400);
    expect((await jsonOf<ErrorBody>(res)).error).toMatchObject({
      param: 'messages[0].content[0].type',
      message: expect.stringContaining('image_url parts are allowed in user messages only'),
    });
  });

  it('takes several images by default (32 MiB), and answers 413 past the configured limit', async () => {
    const g = await gatewayOf(['oa']);
    const images = Array.from({ length: 4 }, () => dataUrl(png(1000, 1000, 2 * MB)));
    const res = await postJson(`${g.url}/v1/chat/completions`, ask(...images));
    expect(res.status).toBe(200);
    await g.close();

    const small = await gatewayOf(['oa'], { maxBodyBytes: 4 * MB });
    const tooLarge = await postJson(`${small.url}/v1/chat/completions`, ask(...images));
    expect(tooLarge.status).toBe(413);
    expect((await jsonOf<ErrorBody>(tooLarge)).error.code).toBe('request_too_large');
  });
});
