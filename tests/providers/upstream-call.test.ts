/**
 * The upstream call every HTTP adapter shares (providers/upstream-call.ts), one table over
 * the OpenAI and the Anthropic adapter against their wire-faithful fakes: headers merged
 * in one order and sent once, the single retry after a 401 with a rotated key, a key
 * source that fails, error bodies that quote the key, and a 2xx of the wrong kind.
 */
import { chatRequestSchema, type ChatRequest } from '../../runtime/src/core/chat-request';
import { providerSchema, type ProviderConfig, type ProviderType } from '../../runtime/src/config/schema';
import { createAnthropicAdapter } from '../../runtime/src/providers/anthropic/adapter';
import { resolveLocalCredential, type CredentialResolver } from '../../runtime/src/providers/credentials';
import type { HttpClient } from '../../runtime/src/providers/http';
import { createOpenAIAdapter } from '../../runtime/src/providers/openai/adapter';
import type { CallOptions, ProviderAdapter, Route } from '../../runtime/src/providers/types';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { startFakeAnthropic } from '../fakes/anthropic';
import type { FakeServer, RecordedRequest } from '../fakes/fault';
import { startFakeOpenAI } from '../fakes/openai';
import { providerFailure } from '../helpers/provider-failure';

const http = createUndiciHttp();
afterAll(() => http.close());

const KEY = 'sk-live-key-0123456789abcdefABCDEF';
const OLD_KEY = 'sk-old-key-9876543210zyxwvuZYXWVU';

interface Upstream {
  name: string;
  type: ProviderType;
  /** The header the key travels in, and its value for `key`. */
  keyHeader: string;
  keyValue(key: string): string;
  start(key: string): Promise<FakeServer & { chatRequests(): RecordedRequest[] }>;
  adapter(provider: ProviderConfig, deps: { resolveCredential: CredentialResolver; http: HttpClient }): ProviderAdapter;
}

const UPSTREAMS: Upstream[] = [
  {
    name: 'OpenAI',
    type: 'openai',
    keyHeader: 'authorization',
    keyValue: (key) => `Bearer ${key}`,
    start: async (key) => {
      const fake = await startFakeOpenAI({ apiKey: key });
      return Object.assign(fake, { chatRequests: () => fake.requests.filter((r) => r.path === '/v1/chat/completions') });
    },
    adapter: createOpenAIAdapter,
  },
  {
    name: 'Anthropic',
    type: 'anthropic',
    keyHeader: 'x-api-key',
    keyValue: (key) => key,
    start: async (key) => {
      const fake = await startFakeAnthropic({ apiKey: key });
      return Object.assign(fake, { chatRequests: () => fake.requests.filter((r) => r.path === '/v1/messages') });
    },
    adapter: createAnthropicAdapter,
  },
];

const ask = (stream = false): ChatRequest => chatRequestSchema.parse({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }], ...(stream ? { stream } : {}) });
const opts = (more: Partial<CallOptions> = {}): CallOptions => ({ signal: new AbortController().signal, requestId: 'req-upstream-1', ...more });

/** A key source that hands out `first`, and `fresh` when asked again after a 401. */
function rotatingKeys(first: string, fresh: string): CredentialResolver & { refreshed: number } {
  const resolver = Object.assign(async () => first, {
    refreshed: 0,
    refresh: async () => {
      resolver.refreshed++;
      return fresh;
    },
  });
  return resolver;
}

describe.each(UPSTREAMS)('$name adapter through the shared upstream call', (up) => {
  let fake: Awaited<ReturnType<Upstream['start']>>;
  let provider: ProviderConfig;
  let route: Route;
  const adapters: ProviderAdapter[] = [];
  const adapterWith = (resolveCredential: CredentialResolver, p = provider) => {
    const a = up.adapter(p, { resolveCredential, http });
    adapters.push(a);
    return a;
  };

  beforeAll(async () => {
    fake = await up.start(KEY);
  });
  afterAll(() => fake.close());
  afterEach(async () => {
    fake.faults.length = 0;
    fake.requests.length = 0;
    await Promise.all(adapters.splice(0).map(async (a) => a.close?.()));
  });

  const providerWith = (headers?: Record<string, string>): ProviderConfig =>
    providerSchema.parse({ id: 'p', type: up.type, headers, accounts: [{ id: 'acct', credentials: { env: 'UNUSED' }, endpoints: [{ region: 'r', url: fake.url }] }] });
  beforeEach(() => {
    provider = providerWith();
    const account = provider.accounts[0];
    route = { key: 'p/acct/r/m-1', provider, account, endpoint: account.endpoints[0], model: 'm-1', logicalModel: 'chat' };
  });

  it.each([false, true])('merges configured, forwarded and our headers, lower-cased and each sent once (stream: %s)', async (stream) => {
    const configured: Record<string, string> = { 'X-Org': 'org-1', 'Content-Type': 'text/plain', traceparent: 'configured', 'X-Request-Id': 'configured' };
    configured[up.keyHeader === 'authorization' ? 'Authorization' : 'X-Api-Key'] = 'configured-key';
    const p = providerWith(configured);
    const a = adapterWith(async () => KEY, p);
    const r = { ...route, provider: p, account: p.accounts[0], endpoint: p.accounts[0].endpoints[0] };
    const call = opts({ forwardHeaders: { Traceparent: '00-trace-01', tracestate: 'k=v' } });
    if (stream) for await (const _ of (await a.stream(r, ask(true), call)).chunks);
    else await a.complete(r, ask(), call);
    const sent = fake.chatRequests()[0].headers;
    expect(sent['x-org']).toBe('org-1');
    expect(sent.traceparent).toBe('00-trace-01');
    expect(sent.tracestate).toBe('k=v');
    expect(sent['content-type']).toBe('application/json');
    expect(sent.accept).toBe(stream ? 'text/event-stream' : 'application/json');
    expect(sent['x-request-id']).toBe('req-upstream-1');
    expect(sent[up.keyHeader]).toBe(up.keyValue(KEY));
    if (up.type === 'anthropic') expect(sent['anthropic-version']).toBe('2023-06-01');
  });

  it('retries once after a 401 with the rotated key, and not again', async () => {
    const keys = rotatingKeys(OLD_KEY, KEY);
    const answer = await adapterWith(keys).complete(route, ask(), opts());
    expect(answer.completion.choices[0].message.content).toBeTruthy();
    expect(fake.chatRequests().map((r) => r.headers[up.keyHeader])).toEqual([up.keyValue(OLD_KEY), up.keyValue(KEY)]);

    fake.requests.length = 0;
    const stillWrong = rotatingKeys(OLD_KEY, 'sk-also-wrong-key-000000000000000000');
    const err = await providerFailure(adapterWith(stillWrong).stream(route, ask(true), opts()));
    expect(err).toMatchObject({ failure: 'refused', status: 401 });
    expect(fake.chatRequests()).toHaveLength(2);
    expect(stillWrong.refreshed).toBe(1);
  });

  it('a 401 whose key source has nothing newer is answered as it was, without a second request', async () => {
    const keys = rotatingKeys(OLD_KEY, OLD_KEY);
    const err = await providerFailure(adapterWith(keys).complete(route, ask(), opts()));
    expect(err).toMatchObject({ failure: 'refused', status: 401 });
    expect(fake.chatRequests()).toHaveLength(1);
    expect(err.message).not.toContain(OLD_KEY);
  });

  it('a key source that fails fails this route (transient, no_credentials) before anything is sent', async () => {
    const broken: CredentialResolver = async () => {
      throw new Error('secret store unreachable');
    };
    for (const call of [(a: ProviderAdapter) => a.complete(route, ask(), opts()), (a: ProviderAdapter) => a.stream(route, ask(true), opts())]) {
      const err = await providerFailure(call(adapterWith(broken)));
      expect(err).toMatchObject({ failure: 'transient', code: 'no_credentials' });
      expect(err.message).toBe('p/acct/r/m-1: credentials unavailable: secret store unreachable');
    }
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('a local key source that cannot be read (env unset, file missing) fails this route the same way, read without waiting', async () => {
    const unset = 'UPSTREAM_CALL_TEST_UNSET_KEY';
    delete process.env[unset];
    const cases: Array<[Route['account']['credentials'], string]> = [
      [{ env: unset }, `credential environment variable ${unset} is not set`],
      [{ file: '/nonexistent/upstream-call-test-key' }, 'cannot read credential file /nonexistent/upstream-call-test-key: ENOENT'],
    ];
    for (const [credentials, why] of cases) {
      const r = { ...route, account: { ...route.account, credentials } };
      for (const call of [(a: ProviderAdapter) => a.complete(r, ask(), opts()), (a: ProviderAdapter) => a.stream(r, ask(true), opts())]) {
        const err = await providerFailure(call(adapterWith(resolveLocalCredential)));
        expect(err).toMatchObject({ failure: 'transient', code: 'no_credentials' });
        expect(err.message).toBe(`p/acct/r/m-1: credentials unavailable: ${why}`);
      }
    }
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it.each([400, 401, 429, 500])('an error body quoting the key (status %i) is classified with no key in its message', async (status) => {
    const a = adapterWith(async () => KEY);
    fake.faults.push({ kind: 'status', status, message: `rejected key ${KEY} (masked sk-liv****CDEF), Bearer ${KEY}` });
    fake.faults.push({ kind: 'status', status, message: `rejected key ${KEY}` });
    const errors = [await providerFailure(a.complete(route, ask(), opts())), await providerFailure(a.stream(route, ask(true), opts()))];
    for (const err of errors) {
      expect(err.status).toBe(status);
      expect(err.message).toContain('rejected key');
      expect(err.message).not.toContain(KEY);
      expect(err.message).not.toContain('CDEF');
      expect(err.stack).not.toContain(KEY);
    }
    expect(errors.map((e) => e.failure)).toEqual(status === 429 ? ['throttled', 'throttled'] : status === 500 ? ['transient', 'transient'] : ['refused', 'refused']);
  });

  it('a 2xx of the wrong content type is a transient wrong_content_type, for complete and stream', async () => {
    const a = adapterWith(async () => KEY);
    fake.faults.push({ kind: 'wrong-content-type' }, { kind: 'wrong-content-type' });
    const c = await providerFailure(a.complete(route, ask(), opts()));
    const s = await providerFailure(a.stream(route, ask(true), opts()));
    expect(c).toMatchObject({ failure: 'transient', status: 200, code: 'wrong_content_type' });
    expect(c.message).toMatch(/^p\/acct\/r\/m-1: upstream answered 200 with content-type "text\/html.*", not JSON$/);
    expect(s).toMatchObject({ failure: 'transient', status: 200, code: 'wrong_content_type' });
    expect(s.message).toMatch(/not an event stream$/);
  });
});
