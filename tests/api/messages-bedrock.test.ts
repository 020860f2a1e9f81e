/**
 * Claude on Bedrock for Messages clients, natively: InvokeModel and
 * InvokeModelWithResponseStream (through the real @aws-sdk/client-bedrock-runtime in the
 * adapter) against a wire-faithful fake, with the Anthropic body Bedrock takes
 * (`anthropic_version: "bedrock-2023-05-31"`, no `model` or `stream`, beta flags in
 * `anthropic_beta`, only the ones Bedrock knows), CountTokens for count_tokens; a
 * non-Claude Bedrock model (Converse) through translation; failover between the
 * Anthropic API and Bedrock.
 */
import Anthropic from '@anthropic-ai/sdk';
import { FAKE_ANTHROPIC_KEY, signatureOf, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import { startFakeBedrockClaude, type FakeBedrockClaude } from '../fakes/bedrock-claude';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from '../observability/capture';
import { useFakeAwsCredentials } from '../helpers/aws-credentials';

const CLAUDE = 'anthropic.claude-sonnet-test-v1:0';
const THOUGHT = 'Bedrock passes my thinking through untouched, signature and all.';
const TEXT = 'Claude on Bedrock answers natively.';
const TOOL = { id: 'toolu_bdrk', name: 'search', input: { q: 'bedrock', n: 2 } };
const SEARCH: Anthropic.Tool = { name: 'search', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, cache_control: { type: 'ephemeral' } };

function prefill(req: FakeAnthropicRequest): string {
  const last = req.messages?.at(-1);
  if (last?.role !== 'assistant' || typeof last.content === 'string') return typeof last?.content === 'string' && last.role === 'assistant' ? last.content : '';
  return (last.content as Array<{ type: string; text?: string }>).map((b) => b.text ?? '').join('');
}

const reply = (req: FakeAnthropicRequest) => {
  const done = prefill(req);
  if (done) return { text: TEXT.slice(done.length) || undefined };
  return { thinking: THOUGHT, text: TEXT, toolUses: req.tools?.length ? [TOOL] : undefined };
};

describe('Messages API on Bedrock', () => {
  let claude: FakeBedrockClaude;
  let nova: FakeBedrock;
  let anthropic: FakeAnthropic;
  let gw: TestGateway;
  let client: Anthropic;
  const logs = new LineCapture();
  useFakeAwsCredentials();

  beforeAll(async () => {
    process.env.BEDROCK_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    [claude, nova, anthropic] = await Promise.all([startFakeBedrockClaude({ reply }), startFakeBedrock({ reply: { text: 'Nova answers a Claude client.' } }), startFakeAnthropic({ reply })]);
    gw = await startGateway(
      {
        providers: [
          { id: 'bedrock', type: 'bedrock', accounts: [{ id: 'acct', endpoints: [{ region: 'us-east-1', url: claude.url }] }] },
          { id: 'bedrock-nova', type: 'bedrock', accounts: [{ id: 'acct', endpoints: [{ region: 'us-east-1', url: nova.url }] }] },
          { id: 'anthropic', type: 'anthropic', accounts: [{ id: 'api', credentials: { env: 'BEDROCK_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: anthropic.url }] }] },
        ],
        models: [
          {
            name: 'claude',
            targets: [
              { provider: 'bedrock', model: CLAUDE },
              { provider: 'anthropic', model: 'claude-api' },
            ],
          },
          { name: 'nova', targets: [{ provider: 'bedrock-nova', model: 'amazon.nova-pro-v1:0' }] },
          { name: 'claude-bedrock', targets: [{ provider: 'bedrock', model: CLAUDE }] },
        ],
      },
      'all-in-one',
      { observability: { destination: logs } },
    );
    client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await gw.close();
    await Promise.all([claude.close(), nova.close(), anthropic.close()]);
    delete process.env.BEDROCK_TEST_ANTHROPIC_KEY;
  });

  beforeEach(() => {
    claude.faults.length = 0;
    gw.gateway.stats.retain([]);
  });

  it('creates a message through InvokeModel: Bedrock’s body, the answer as Claude wrote it', async () => {
    const before = claude.requests.length;
    const params = {
      model: 'claude',
      max_tokens: 500,
      system: [{ type: 'text' as const, text: 'Be exact.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'Say hello.' }],
      metadata: { user_id: 'u-1' },
    };
    const { data, response } = await client.messages.create(params).withResponse();
    expect(data).toMatchObject({ id: 'msg_bdrk_1', model: CLAUDE, content: [{ type: 'text', text: TEXT }], stop_reason: 'end_turn' });
    expect(response.headers.get('x-gateway-route')).toBe(`bedrock/acct/us-east-1/${CLAUDE}`);
    const sent = claude.requests[before];
    expect(sent.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/invoke`);
    const { model: _m, ...rest } = params;
    expect(sent.invokeBody).toEqual({ anthropic_version: 'bedrock-2023-05-31', ...rest });
  });

  it('streams thinking, text and a tool call through InvokeModelWithResponseStream, signature intact', async () => {
    const stream = client.messages.stream({
      model: 'claude',
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2000 },
      tools: [SEARCH],
      messages: [{ role: 'user', content: 'Search.' }],
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      expect.objectContaining({ type: 'thinking', thinking: THOUGHT, signature: signatureOf(THOUGHT) }),
      expect.objectContaining({ type: 'text', text: TEXT }),
      expect.objectContaining({ type: 'tool_use', ...TOOL }),
    ]);
    expect(final.stop_reason).toBe('tool_use');
    const sent = claude.requests.at(-1)!;
    expect(sent.operation).toBe('invoke-with-response-stream');
    expect(sent.invokeBody).not.toHaveProperty('stream');
    expect(sent.invokeBody?.tools).toEqual([SEARCH]);
  });

  it('passes the client’s trace context to Bedrock on InvokeModel, its stream and CountTokens', async () => {
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=gateway-test' };
    const body = { model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'Trace me.' }] };
    const calls: Array<[string, Record<string, unknown>]> = [
      ['/v1/messages', body],
      ['/v1/messages', { ...body, stream: true }],
      ['/v1/messages/count_tokens', { model: 'claude', messages: body.messages }],
    ];
    for (const [path, doc] of calls) {
      const before = claude.requests.length;
      const res = await postJson(`${gw.url}${path}`, doc, { 'anthropic-version': '2023-06-01', ...trace });
      expect(res.status).toBe(200);
      await res.text();
      expect(claude.requests).toHaveLength(before + 1);
      expect(claude.requests[before].headers).toMatchObject(trace);
    }
    expect(claude.requests.slice(-3).map((r) => r.operation)).toEqual(['invoke', 'invoke-with-response-stream', 'count-tokens']);
  });

  it('counts tokens with Bedrock’s CountTokens', async () => {
    const { data, response } = await client.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'Count me.' }] }).withResponse();
    const sent = claude.requests.at(-1)!;
    expect(sent.operation).toBe('count-tokens');
    expect(sent.invokeBody).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', messages: [{ role: 'user', content: 'Count me.' }] });
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-gateway-token-count')).toBe('provider');
  });

  it('sends Bedrock only the beta flags it takes and the fields it knows; the rest is dropped with a note, not refused', async () => {
    const before = claude.requests.length;
    const res = await postJson(
      `${gw.url}/v1/messages`,
      { model: 'claude', max_tokens: 50, service_tier: 'auto', messages: [{ role: 'user', content: 'Hi' }] },
      { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,oauth-2025-04-20' },
    );
    expect(res.status).toBe(200);
    const body = claude.requests[before].invokeBody!;
    expect(body.anthropic_beta).toEqual(['interleaved-thinking-2025-05-14']);
    expect(body).not.toHaveProperty('service_tier');
    const id = res.headers.get('x-request-id');
    expect(await until(() => logs.requests().some((l) => l.requestId === id))).toBe(true);
    const notes = logs.requests().find((l) => l.requestId === id)?.notes as string[];
    expect(notes.join(' ')).toContain('claude-code-20250219,oauth-2025-04-20');
    expect(notes.join(' ')).toContain('service_tier');
  });

  it('waits out a short Bedrock ThrottlingException on the same route, and fails over to the Anthropic API when it repeats', async () => {
    const hi = { model: 'claude', max_tokens: 50, messages: [{ role: 'user' as const, content: 'Hi' }] };
    const throttled = { kind: 'status' as const, status: 429, headers: { 'retry-after': '0' } };
    claude.faults.push(throttled);
    const waited = await client.messages.create(hi).withResponse();
    expect(waited.data.content).toEqual([expect.objectContaining({ text: TEXT })]);
    expect(waited.response.headers.get('x-gateway-route')).toBe('bedrock/acct/us-east-1/anthropic.claude-sonnet-test-v1:0');
    expect(waited.response.headers.get('x-gateway-attempts')).toBe('2');

    claude.faults.push(throttled, throttled);
    const before = anthropic.requests.length;
    const { data, response } = await client.messages.create(hi).withResponse();
    expect(data.content).toEqual([expect.objectContaining({ text: TEXT })]);
    expect(response.headers.get('x-gateway-route')).toBe('anthropic/api/us/claude-api');
    expect(anthropic.requests[before].body).toMatchObject({ model: 'claude-api', messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('continues a Bedrock stream cut mid-text on the Anthropic API', async () => {
    claude.faults.push({ kind: 'cut', afterChunks: 2 });
    const final = await client.messages.stream({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    const continued = anthropic.requests.at(-1)!.body as FakeAnthropicRequest;
    expect(continued.messages?.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Claude on' }] });
  });

  it('sends a Claude-format client’s image to Nova as Converse bytes, and refuses an image URL no target of the model fetches', async () => {
    const before = nova.requests.length;
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const answer = await client.messages.create({
      model: 'nova',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    });
    expect(answer.content).toEqual([expect.objectContaining({ text: 'Nova answers a Claude client.' })]);
    const sent = nova.requests[before].body as { messages: Array<{ content: Array<{ image?: { format: string; source: { bytes: string } } }> }> };
    expect(sent.messages[0].content[0].image).toEqual({ format: 'png', source: { bytes: png } });
    const url = await client.messages
      .create({ model: 'nova', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] }] })
      .catch((e: unknown) => e);
    expect(url).toBeInstanceOf(Anthropic.BadRequestError);
    expect((url as Error).message).toMatch(/cannot fetch image URLs/);
  });

  it('passes Claude on Bedrock over for an image URL (Bedrock takes base64 only) to the Anthropic API, and names the block when only Bedrock serves the model', async () => {
    const before = claude.requests.length;
    const ask = (model: string) =>
      client.messages
        .create({
          model,
          max_tokens: 50,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'What is this?' },
                { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
              ],
            },
          ],
        })
        .withResponse();
    const { data, response } = await ask('claude');
    expect(data.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    expect(response.headers.get('x-gateway-route')).toBe('anthropic/api/us/claude-api');
    expect(claude.requests.length).toBe(before);

    const refused = await ask('claude-bedrock').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(refused).toMatchObject({ type: 'invalid_request_error', errorCode: 'unsupported_on_target' });
    expect((refused as Error).message).toContain('messages.0.content.1.source: Claude on Bedrock does not take image sources of type "url"');
    expect(claude.requests.length).toBe(before);
  });

  it('serves a Claude-format client from a non-Claude Bedrock model through Converse', async () => {
    const before = nova.requests.length;
    const final = await client.messages.stream({ model: 'nova', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
    expect(final).toMatchObject({ model: 'amazon.nova-pro-v1:0', content: [expect.objectContaining({ type: 'text', text: 'Nova answers a Claude client.' })], stop_reason: 'end_turn' });
    expect(nova.requests[before].operation).toBe('converse-stream');
    const counted = await client.messages.countTokens({ model: 'nova', messages: [{ role: 'user', content: 'Count me.' }] }).withResponse();
    expect(counted.response.headers.get('x-gateway-token-count')).toBe('estimate');
    // No route counted an estimate: none is named (README, count_tokens).
    expect(counted.response.headers.get('x-gateway-route')).toBeNull();
  });
});
