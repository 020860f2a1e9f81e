/**
 * Failures that are verdicts on the request, not on the route. context_length_exceeded:
 * never the same model again (not even on another account); a fallback with a larger
 * context serves, else a clean 400. Content filter: no retry and no fallback; the
 * provider's reason goes back to the client.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway } from '../helpers/gateway';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { ask } from './load';

const TOO_LONG = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.";
const FILTERED = 'The response was filtered due to the prompt triggering our content management policy.';

describe('verdicts on the request', () => {
  let p1: FakeOpenAI;
  let p2: FakeOpenAI;
  let smaller: FakeOpenAI;
  let larger: FakeOpenAI;
  const fakes = () => [p1, p2, smaller, larger];
  const chats = (f: FakeOpenAI) => f.requests.filter((r) => r.path === '/v1/chat/completions').length;

  beforeAll(async () => {
    [p1, p2, smaller, larger] = await Promise.all([
      startFakeOpenAI(),
      startFakeOpenAI(),
      startFakeOpenAI({ reply: 'from the smaller model' }),
      startFakeOpenAI({ reply: 'from the larger model' }),
    ]);
  });
  afterAll(async () => {
    for (const f of fakes()) await f.close();
  });
  afterEach(() => {
    for (const f of fakes()) {
      f.always = undefined;
      f.requests.length = 0;
    }
  });

  /** Primary on two accounts (8k context), then a 4k fallback, then (optionally) a 128k one. */
  function config(withLarger: boolean): GatewayConfigInput {
    const one = (id: string, f: FakeOpenAI) => ({ id, type: 'openai-compatible' as const, accounts: [{ id: 'acct', endpoints: [{ region: 'r', url: f.url }] }] });
    return {
      providers: [
        {
          id: 'primary',
          type: 'openai-compatible',
          accounts: [
            { id: 'acct-1', endpoints: [{ region: 'r', url: p1.url }] },
            { id: 'acct-2', endpoints: [{ region: 'r', url: p2.url }] },
          ],
        },
        one('small', smaller),
        one('large', larger),
      ],
      models: [
        {
          name: 'chat',
          targets: [
            { provider: 'primary', model: 'gpt-8k', contextTokens: 8192 },
            { provider: 'small', model: 'gpt-4k', contextTokens: 4096 },
            ...(withLarger ? [{ provider: 'large', model: 'gpt-128k', contextTokens: 128_000 }] : []),
          ],
        },
      ],
    };
  }

  const primaryAsked = () => chats(p1) + chats(p2);

  it.each([
    ['whole answer', false],
    ['stream', true],
  ])('context_length_exceeded, %s: the larger fallback serves; the same model and the smaller one are skipped', async (_n, stream) => {
    const gw = await startGateway(config(true), 'all-in-one', { probes: false });
    try {
      p1.always = p2.always = { kind: 'status', status: 400, code: 'context_length_exceeded', message: TOO_LONG };
      const o = await ask(gw.client, 0, { stream });
      expect(o).toMatchObject({ ok: true, route: 'large/acct/r/gpt-128k', model: 'gpt-128k', text: 'from the larger model', attempts: 2 });
      expect(primaryAsked()).toBe(1); // not the other account: same model, same context
      expect(chats(smaller)).toBe(0);
      expect(chats(larger)).toBe(1);
    } finally {
      await gw.close();
    }
  });

  it.each([
    ['whole answer', false],
    ['stream', true],
  ])('context_length_exceeded, %s, no larger fallback: a clean 400 context_length_exceeded', async (_n, stream) => {
    const gw = await startGateway(config(false), 'all-in-one', { probes: false });
    try {
      p1.always = p2.always = { kind: 'status', status: 400, code: 'context_length_exceeded', message: TOO_LONG };
      const o = await ask(gw.client, 0, { stream });
      expect(o).toMatchObject({ ok: false, status: 400, errorCode: 'context_length_exceeded' });
      expect(o.error).toContain('maximum context length is 8192 tokens');
      expect(primaryAsked()).toBe(1);
      expect(chats(smaller)).toBe(0);
    } finally {
      await gw.close();
    }
  });

  it.each([
    ['whole answer', false],
    ['stream', true],
  ])('content filter, %s: a 400 with the provider reason, no retry, no fallback', async (_n, stream) => {
    const gw = await startGateway(config(true), 'all-in-one', { probes: false });
    try {
      p1.always = p2.always = { kind: 'status', status: 400, code: 'content_filter', message: FILTERED };
      const o = await ask(gw.client, 0, { stream });
      expect(o).toMatchObject({ ok: false, status: 400, errorCode: 'content_filter' });
      expect(o.error).toContain(FILTERED);
      expect(primaryAsked()).toBe(1);
      expect(chats(smaller)).toBe(0);
      expect(chats(larger)).toBe(0);
      // A verdict on the request says nothing about the route's health.
      const health = await healthOf(gw.url);
      expect(health.routes.every((r) => r.state === 'healthy')).toBe(true);
    } finally {
      await gw.close();
    }
  });
});
