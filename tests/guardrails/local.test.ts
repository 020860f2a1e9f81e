/**
 * Local guardrails through a real gateway: deny patterns block with a 400 content_filter
 * and nothing reaches the provider; masking changes what the provider receives; both
 * apply per model and per tenant as configured.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { hashKey } from '../../runtime/src/tenants/auth';
import type { RequestEvent } from '../../runtime/src/observability/events';
import { startFakeOpenAI, type FakeChatRequest, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

let openai: FakeOpenAI;
let gw: TestGateway | undefined;

beforeAll(async () => {
  openai = await startFakeOpenAI();
});
afterAll(async () => {
  await openai.close();
});
beforeEach(() => {
  openai.requests.length = 0;
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

function config(guardrails: unknown[], tenants = false): GatewayConfigInput {
  return {
    providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: openai.url }] }] }],
    models: [
      { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] },
      { name: 'other', targets: [{ provider: 'oa', model: 'gpt-4o' }] },
    ],
    ...(tenants
      ? {
          tenants: [
            { id: 'team-a', keys: [hashKey('key-team-a')] },
            { id: 'team-b', keys: [hashKey('key-team-b')] },
          ],
        }
      : {}),
    guardrails: guardrails as GatewayConfigInput['guardrails'],
  };
}

async function start(guardrails: unknown[], tenants = false): Promise<TestGateway> {
  gw = await startGateway(config(guardrails, tenants), 'all-in-one', { probes: false });
  return gw;
}

async function chat(body: Record<string, unknown>, key?: string): Promise<{ status: number; body: { error?: { message: string; type: string; code: string; param: string | null } } }> {
  const res = await postJson(`${gw!.url}/v1/chat/completions`, { model: 'chat', ...body }, key ? { authorization: `Bearer ${key}` } : {});
  return { status: res.status, body: (await res.json()) as never };
}

const user = (content: string) => ({ messages: [{ role: 'user', content }] });
const upstreamMessages = (i = 0) => (openai.requests[i].body as FakeChatRequest).messages;

describe('deny patterns', () => {
  const guardrails = [{ id: 'no-credentials', local: { deny: ['password\\s*[:=]', 'BEGIN (RSA )?PRIVATE KEY'], reason: 'credentials must not be sent to a model' } }];

  test('a match is a 400 content_filter with the reason, and nothing is forwarded', async () => {
    await start(guardrails);
    const events: RequestEvent[] = [];
    gw!.gateway.events.subscribe((e) => {
      if (e.type === 'request') events.push(e);
    });
    const res = await chat(user('my PASSWORD = hunter2, can you remember it?'));
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({
      type: 'invalid_request_error',
      code: 'content_filter',
      param: 'messages',
      message: 'The request was blocked by guardrail "no-credentials": credentials must not be sent to a model.',
    });
    expect(openai.requests).toHaveLength(0);
    await until(() => events.length > 0);
    expect(events).toMatchObject([{ status: 400, errorCode: 'content_filter' }]);
  });

  test('every message is checked (a system prompt, text parts, an assistant turn), case-insensitively', async () => {
    await start(guardrails);
    const key = '-----begin rsa private key-----';
    for (const messages of [
      [
        { role: 'system', content: `keep this: ${key}` },
        { role: 'user', content: 'hi' },
      ],
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'part one' },
            { type: 'text', text: `part two ${key}` },
          ],
        },
      ],
      [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: `sure: ${key}` },
        { role: 'user', content: 'go on' },
      ],
    ]) {
      expect((await chat({ messages })).status).toBe(400);
    }
    expect(openai.requests).toHaveLength(0);
    // The OpenAI SDK sees the same error.
    await expect(gw!.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'password: x' }] })).rejects.toMatchObject({
      status: 400,
      code: 'content_filter',
      type: 'invalid_request_error',
    });
  });

  test('no match: forwarded unchanged; no reason configured: a default one', async () => {
    await start([{ id: 'words', local: { deny: ['\\bforbidden\\b'] } }]);
    expect((await chat(user('a perfectly fine question'))).status).toBe(200);
    expect(upstreamMessages()).toEqual([{ role: 'user', content: 'a perfectly fine question' }]);
    const res = await chat(user('this is FORBIDDEN'));
    expect(res.body.error?.message).toBe('The request was blocked by guardrail "words": the request matches a denied pattern.');
    expect(openai.requests).toHaveLength(1);
  });
});

describe('masking', () => {
  const guardrails = [{ id: 'pii', local: { mask: ['email', 'phone', 'card'] } }];

  test('e-mail addresses, phone numbers and card numbers are masked in what the provider receives', async () => {
    await start(guardrails);
    const res = await chat({
      messages: [
        { role: 'system', content: 'Support agent for ops@example.com.' },
        { role: 'user', content: 'I am jane.doe@example.org, call me on +1 415 555 0123. My card 4111 1111 1111 1111 was charged twice.' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'customer phone (415) 555-0199, card 5555-5555-5555-4444' }] },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    expect(res.status).toBe(200);
    expect(upstreamMessages()).toEqual([
      { role: 'system', content: 'Support agent for [EMAIL].' },
      { role: 'user', content: 'I am [EMAIL], call me on [PHONE]. My card [CARD] was charged twice.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'customer phone [PHONE], card [CARD]' }] },
    ]);
  });

  test('a number of card length that fails the Luhn check is forwarded as it was', async () => {
    await start(guardrails);
    await chat(user('tracking number 4111 1111 1111 1112, order 1234567890123'));
    expect(upstreamMessages()).toEqual([{ role: 'user', content: 'tracking number 4111 1111 1111 1112, order 1234567890123' }]);
  });

  test('streamed requests are masked too', async () => {
    await start(guardrails);
    const stream = await gw!.client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'mail bob@example.net' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(upstreamMessages()).toEqual([{ role: 'user', content: 'mail [EMAIL]' }]);
  });

  test('only the configured kinds; a deny in the same guardrail sees the text before masking', async () => {
    await start([{ id: 'cards', local: { mask: ['card'], deny: ['@example\\.com'] } }]);
    expect((await chat(user('me@example.com'))).status).toBe(400);
    await chat(user('me@example.org, +1 415 555 0123, 4111111111111111'));
    expect(upstreamMessages()).toEqual([{ role: 'user', content: 'me@example.org, +1 415 555 0123, [CARD]' }]);
  });
});

describe('scoping', () => {
  test('per model: a guardrail for "chat" does not touch "other"', async () => {
    await start([
      { id: 'chat-deny', models: ['chat'], local: { deny: ['secret project'] } },
      { id: 'chat-mask', models: ['chat'], local: { mask: ['email'] } },
    ]);
    expect((await chat({ model: 'chat', ...user('about the secret project') })).status).toBe(400);
    expect((await chat({ model: 'other', ...user('about the secret project') })).status).toBe(200);
    await chat({ model: 'chat', ...user('a@example.com') });
    await chat({ model: 'other', ...user('a@example.com') });
    expect(openai.requests.map((r) => (r.body as FakeChatRequest).messages[0].content)).toEqual(['about the secret project', '[EMAIL]', 'a@example.com']);
  });

  test('per tenant: a guardrail for team-b does not touch team-a', async () => {
    await start(
      [
        { id: 'b-deny', tenants: ['team-b'], local: { deny: ['internal only'], reason: 'team-b may not send internal documents' } },
        { id: 'b-mask', tenants: ['team-b'], local: { mask: ['phone'] } },
      ],
      true,
    );
    const blocked = await chat(user('internal only: roadmap'), 'key-team-b');
    expect(blocked.status).toBe(400);
    expect(blocked.body.error?.message).toContain('team-b may not send internal documents');
    expect((await chat(user('internal only: roadmap'), 'key-team-a')).status).toBe(200);
    await chat(user('call 415-555-0123'), 'key-team-b');
    await chat(user('call 415-555-0123'), 'key-team-a');
    expect(openai.requests.map((r) => (r.body as FakeChatRequest).messages[0].content)).toEqual(['internal only: roadmap', 'call [PHONE]', 'call 415-555-0123']);
  });

  test('per model and tenant together: both must match', async () => {
    await start([{ id: 'narrow', models: ['other'], tenants: ['team-a'], local: { deny: ['blocked word'] } }], true);
    expect((await chat({ model: 'other', ...user('blocked word') }, 'key-team-a')).status).toBe(400);
    expect((await chat({ model: 'chat', ...user('blocked word') }, 'key-team-a')).status).toBe(200);
    expect((await chat({ model: 'other', ...user('blocked word') }, 'key-team-b')).status).toBe(200);
    expect(gw!.gateway.guardrails.appliesTo({ model: 'other', tenant: 'team-a' })).toEqual(['narrow']);
    expect(gw!.gateway.guardrails.appliesTo({ model: 'other' })).toEqual([]);
  });
});
