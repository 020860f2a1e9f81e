/**
 * Amazon Bedrock guardrails through a real gateway: the real AWS SDK ApplyGuardrail call
 * against the Bedrock fake, an OpenAI fake as the provider behind it. NONE forwards,
 * GUARDRAIL_INTERVENED blocks (or forwards the anonymized text), and a failing guardrail
 * follows onError.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeBedrock, type BedrockRecordedRequest, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeChatRequest, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';

const GUARDRAIL = 'gr-abc123';
const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

let bedrock: FakeBedrock;
let openai: FakeOpenAI;
let gw: TestGateway | undefined;

beforeAll(async () => {
  // The guardrail's Bedrock client uses the default AWS credential chain: fake keys here.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
  bedrock = await startFakeBedrock();
  openai = await startFakeOpenAI();
});

afterAll(async () => {
  await Promise.all([bedrock.close(), openai.close()]);
  for (const [name, value] of [
    ['AWS_ACCESS_KEY_ID', savedEnv.id],
    ['AWS_SECRET_ACCESS_KEY', savedEnv.secret],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

beforeEach(() => {
  bedrock.requests.length = 0;
  bedrock.faults.length = 0;
  bedrock.always = undefined;
  bedrock.guardrails = { [GUARDRAIL]: { blockedWords: ['bomb'], anonymizeEmails: true, blockedMessage: 'This topic is not allowed here.' } };
  openai.requests.length = 0;
});

afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function start(guardrail: Record<string, unknown> = {}): Promise<TestGateway> {
  const doc: GatewayConfigInput = {
    providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: openai.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] }],
    guardrails: [
      {
        id: 'bedrock-policy',
        bedrock: { guardrailId: GUARDRAIL, version: '3', region: 'us-west-2', url: bedrock.url },
        ...guardrail,
      },
    ],
  };
  gw = await startGateway(doc, 'all-in-one', { probes: false });
  return gw;
}

async function chat(messages: unknown[]): Promise<{ status: number; error?: { message: string; type: string; code: string } }> {
  const res = await postJson(`${gw!.url}/v1/chat/completions`, { model: 'chat', messages });
  const body = (await res.json()) as { error?: { message: string; type: string; code: string } };
  return { status: res.status, error: body.error };
}

const applied = (): BedrockRecordedRequest[] => bedrock.requests.filter((r) => r.operation === 'apply-guardrail');
const upstreamMessages = (i = 0) => (openai.requests[i].body as FakeChatRequest).messages;

test('NONE: the request goes upstream unchanged; Bedrock saw each message text as an INPUT block', async () => {
  await start();
  const messages = [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: '' },
    { role: 'user', content: [{ type: 'text', text: 'And of Spain?' }] },
  ];
  expect((await chat(messages)).status).toBe(200);
  expect(upstreamMessages()).toEqual(messages);
  expect(applied()).toHaveLength(1);
  const [call] = applied();
  expect(call).toMatchObject({ method: 'POST', path: `/guardrail/${GUARDRAIL}/version/3/apply`, guardrailId: GUARDRAIL, guardrailVersion: '3' });
  // Blank texts are not sent.
  expect(call.body).toEqual({
    source: 'INPUT',
    content: [{ text: { text: 'You are helpful.' } }, { text: { text: 'What is the capital of France?' } }, { text: { text: 'And of Spain?' } }],
  });
  expect(String(call.headers.authorization)).toMatch(/\/us-west-2\/bedrock\/aws4_request/);
});

test('GUARDRAIL_INTERVENED (blocked): 400 content_filter with the guardrail message, nothing forwarded', async () => {
  await start();
  const res = await chat([{ role: 'user', content: 'How do I build a bomb?' }]);
  expect(res.status).toBe(400);
  expect(res.error).toMatchObject({ type: 'invalid_request_error', code: 'content_filter' });
  expect(res.error?.message).toBe(`The request was blocked by guardrail "bedrock-policy": This topic is not allowed here. (Amazon Bedrock guardrail ${GUARDRAIL}: word filter).`);
  expect(openai.requests).toHaveLength(0);
});

test('GUARDRAIL_INTERVENED (anonymized only): the provider receives the masked texts', async () => {
  await start();
  const res = await chat([
    { role: 'system', content: 'Reply to the customer.' },
    { role: 'user', content: 'I am jane@example.com and bob@example.org is cc.' },
  ]);
  expect(res.status).toBe(200);
  expect(upstreamMessages()).toEqual([
    { role: 'system', content: 'Reply to the customer.' },
    { role: 'user', content: 'I am {EMAIL} and {EMAIL} is cc.' },
  ]);
});

test('local rules of the same guardrail run first: Bedrock never sees what they masked', async () => {
  await start({ local: { mask: ['card'] } });
  await chat([{ role: 'user', content: 'card 4111 1111 1111 1111, mail me at jane@example.com' }]);
  expect((applied()[0].body as { content: unknown }).content).toEqual([{ text: { text: 'card [CARD], mail me at jane@example.com' } }]);
  expect(upstreamMessages()).toEqual([{ role: 'user', content: 'card [CARD], mail me at {EMAIL}' }]);
});

describe('Bedrock ApplyGuardrail failing', () => {
  test('onError block (the default): 503 guardrail_unavailable and nothing forwarded', async () => {
    await start();
    bedrock.always = { kind: 'status', status: 500 };
    const res = await chat([{ role: 'user', content: 'hello' }]);
    expect(res.status).toBe(503);
    expect(res.error?.code).toBe('guardrail_unavailable');
    expect(res.error?.message).toMatch(
      /^Guardrail "bedrock-policy" could not check the request, so it was not forwarded: Amazon Bedrock ApplyGuardrail gr-abc123 version 3 in us-west-2 failed: 500 InternalServerException/,
    );
    expect(openai.requests).toHaveLength(0);
  });

  test('onError allow: the request goes through unchecked', async () => {
    await start({ onError: 'allow' });
    bedrock.always = { kind: 'status', status: 503 };
    const res = await chat([{ role: 'user', content: 'hello jane@example.com' }]);
    expect(res.status).toBe(200);
    expect(applied().length).toBeGreaterThan(0); // it was asked, and failed
    expect(upstreamMessages()).toEqual([{ role: 'user', content: 'hello jane@example.com' }]);
  });

  test('connection reset, no answer in time, unknown guardrail: each blocks under onError block', async () => {
    await start({ bedrock: { guardrailId: GUARDRAIL, version: '3', region: 'us-west-2', url: bedrock.url, timeoutMs: 300 } });
    bedrock.always = { kind: 'reset' };
    expect(await chat([{ role: 'user', content: 'hello' }])).toMatchObject({ status: 503, error: { code: 'guardrail_unavailable' } });
    bedrock.always = { kind: 'hang' };
    const slow = await chat([{ role: 'user', content: 'hello' }]);
    expect(slow).toMatchObject({ status: 503, error: { code: 'guardrail_unavailable' } });
    expect(slow.error?.message).toMatch(/no answer within 300 ms/);
    bedrock.always = undefined;
    bedrock.guardrails = {};
    const unknown = await chat([{ role: 'user', content: 'hello' }]);
    expect(unknown.error?.message).toMatch(/ResourceNotFoundException/);
    expect(openai.requests).toHaveLength(0);
  });
});
