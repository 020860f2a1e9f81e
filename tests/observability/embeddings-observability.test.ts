/**
 * Embeddings requests in what operators read: the log line (api, tokens, batches, every
 * batch's attempts), Prometheus (the api label beside the existing ones, batches, tokens
 * in), CloudWatch EMF (an Api dimension set) and /status.json (the model's api).
 */
import { expect } from '@jest/globals';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture, parsePrometheus, valueOf } from './capture';

describe('embeddings in logs, metrics, EMF and /status', () => {
  const out = new LineCapture();
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(
      {
        providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'local', latencyMs: 1, seed: 3 }] }] }],
        models: [
          { name: 'chat', targets: [{ provider: 'sim', model: 'sim-chat' }] },
          { name: 'embed', api: 'embeddings', targets: [{ provider: 'sim', model: 'sim-embed' }], batch: { size: 2 } },
        ],
      },
      'spoke',
      { probes: false, observability: { destination: out, env: { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' } } },
    );
    const embed = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input: ['one', 'two', 'three', 'four', 'five'] });
    expect(embed.status).toBe(200);
    expect((await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect((await postJson(`${gw.url}/v1/embeddings`, { model: 'chat', input: 'x' })).status).toBe(400);
    // The simulated provider counts a token per four characters: 1 + 1 + 2 + 1 + 1.
    await until(() => out.requests().length >= 3 && out.emf().length >= 3);
  });
  afterAll(() => gw.close());

  it('one log line per request, saying which api, its batches and each batch attempt', () => {
    const [embed, chat, wrong] = out.requests();
    expect(embed).toMatchObject({ api: 'embeddings', model: 'embed', stream: false, status: 200, route: 'sim/a/local/sim-embed', batches: 3, tokens: { in: 6, out: 0 } });
    expect(embed.attempts).toHaveLength(3);
    expect(chat).toMatchObject({ api: 'chat', model: 'chat', status: 200 });
    expect(chat.batches).toBeUndefined();
    expect(wrong).toMatchObject({ api: 'embeddings', model: 'chat', status: 400, errorCode: 'model_not_supported' });
  });

  it('Prometheus: the existing metrics with an api label, batches and input tokens', async () => {
    const samples = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(valueOf(samples, 'gateway_requests_total', { model: 'embed', status: '200', role: 'spoke', api: 'embeddings' })).toBe(1);
    expect(valueOf(samples, 'gateway_requests_total', { model: 'chat', status: '200', role: 'spoke', api: 'chat' })).toBe(1);
    expect(valueOf(samples, 'gateway_requests_total', { model: 'chat', status: '400', api: 'embeddings' })).toBe(1);
    expect(valueOf(samples, 'gateway_errors_total', { model: 'chat', code: 'model_not_supported', api: 'embeddings' })).toBe(1);
    expect(valueOf(samples, 'gateway_embedding_batches_total', { model: 'embed' })).toBe(3);
    expect(valueOf(samples, 'gateway_tokens_total', { model: 'embed', direction: 'in' })).toBe(6);
    expect(valueOf(samples, 'gateway_request_duration_seconds_count', { model: 'embed', stream: 'false', api: 'embeddings' })).toBe(1);
    expect(valueOf(samples, 'gateway_attempts_total', { route: 'sim/a/local/sim-embed', outcome: 'ok' })).toBe(3);
  });

  it('EMF: the Api dimension set beside Service and Model', () => {
    const [embed, chat] = out.emf();
    expect((embed._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0].Dimensions).toEqual([['Service'], ['Service', 'Model'], ['Service', 'Api']]);
    expect(embed).toMatchObject({ Model: 'embed', Api: 'embeddings', Requests: 1, Attempts: 3, InputTokens: 6, OutputTokens: 0 });
    expect(chat).toMatchObject({ Model: 'chat', Api: 'chat' });
  });

  it('/status.json names the api of each model', async () => {
    const status = (await (await fetch(`${gw.url}/status.json`)).json()) as { models: Array<{ name: string; api: string }> };
    expect(status.models.map((m) => [m.name, m.api])).toEqual([
      ['chat', 'chat'],
      ['embed', 'embeddings'],
    ]);
  });
});
