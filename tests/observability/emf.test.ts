/**
 * CloudWatch embedded metric format lines, checked against the specification: a root
 * `_aws` with a millisecond Timestamp and CloudWatchMetrics directives (Namespace,
 * Dimensions as arrays of dimension names, Metrics with a valid Unit), every dimension a
 * top-level string member and every declared metric a top-level number. And when they
 * are written: in Lambda and ECS by default, with the namespace and service Pulumi sets.
 */
import { expect } from '@jest/globals';
import { resolveObservability } from '../../runtime/src/observability/settings';
import { parseConfig } from '../../runtime/src/config/load';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from './capture';
import { configErrorOf } from '../helpers/config-error';
import { hashKey } from '../../runtime/src/tenants/auth';

/** The units the EMF specification (CloudWatch MetricDatum units) accepts. */
const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/** Every MUST of the specification's document structure; returns the problems found. */
function emfProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const aws = doc._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (typeof aws !== 'object' || aws === null) return ['no _aws object'];
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp) || aws.Timestamp < 1e12) problems.push('Timestamp is not epoch milliseconds');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) return [...problems, 'no CloudWatchMetrics'];
  for (const d of aws.CloudWatchMetrics as Record<string, unknown>[]) {
    if (typeof d.Namespace !== 'string' || d.Namespace.length < 1 || d.Namespace.length > 1024) problems.push('bad Namespace');
    if (!Array.isArray(d.Dimensions)) problems.push('Dimensions is not an array');
    for (const set of (d.Dimensions as unknown[]) ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push(`bad dimension set ${JSON.stringify(set)}`);
      for (const name of (set as unknown[]) ?? []) {
        if (typeof name !== 'string' || typeof doc[name] !== 'string' || doc[name].length === 0) problems.push(`dimension ${String(name)} has no string value`);
        // CloudWatch's Dimension: 1 to 1024 ASCII characters, no control characters, not all whitespace.
        else if (!/^[\x20-\x7e]{1,1024}$/.test(doc[name]) || doc[name].trim() === '') problems.push(`dimension ${name} value ${JSON.stringify(doc[name])} is not one CloudWatch takes`);
      }
    }
    if (!Array.isArray(d.Metrics) || d.Metrics.length > 100) problems.push('bad Metrics');
    for (const m of (d.Metrics as Record<string, unknown>[]) ?? []) {
      if (typeof m.Name !== 'string' || m.Name.length < 1 || m.Name.length > 1024) problems.push('bad metric Name');
      if (m.Unit !== undefined && !UNITS.has(m.Unit as string)) problems.push(`bad Unit ${JSON.stringify(m.Unit)}`);
      if (typeof doc[m.Name as string] !== 'number') problems.push(`metric ${String(m.Name)} has no number value`);
      if (Object.keys(m).some((k) => !['Name', 'Unit', 'StorageResolution'].includes(k))) problems.push(`extra member in metric ${String(m.Name)}`);
    }
    if (Object.keys(d).some((k) => !['Namespace', 'Dimensions', 'Metrics'].includes(k))) problems.push('extra member in directive');
  }
  return problems;
}

const metricsOf = (doc: Record<string, unknown>) =>
  Object.fromEntries((doc._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics[0].Metrics.map((m) => [m.Name, m.Unit]));

describe('EMF lines through the gateway', () => {
  let primary: FakeOpenAI;
  let backup: FakeOpenAI;

  beforeAll(async () => {
    [primary, backup] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  });
  afterAll(async () => Promise.all([primary.close(), backup.close()]));

  const config = (observability: Record<string, unknown> = {}) => ({
    observability,
    providers: [
      { id: 'primary', type: 'openai-compatible' as const, accounts: [{ id: 'a', endpoints: [{ region: 'r', url: primary.url }] }] },
      { id: 'backup', type: 'openai-compatible' as const, accounts: [{ id: 'a', endpoints: [{ region: 'r', url: backup.url }] }] },
    ],
    models: [
      {
        name: 'chat',
        targets: [
          { provider: 'primary', model: 'm' },
          { provider: 'backup', model: 'm' },
        ],
      },
    ],
  });

  it('writes one valid EMF line per request, with the Service and Model dimensions and every metric', async () => {
    const out = new LineCapture();
    const env = { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x', GATEWAY_METRICS_NAMESPACE: 'AIGateway', GATEWAY_METRICS_SERVICE: 'ai-gateway-spoke-a' };
    const tg = await startGateway(config(), 'spoke', { probes: false, observability: { destination: out, env } });
    try {
      primary.faults.push({ kind: 'status', status: 500 });
      const c = await tg.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
      const stream = await tg.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const _ of stream) void _;
      expect((await postJson(`${tg.url}/v1/chat/completions`, { model: 'nope', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404);

      // Each EMF document is a line of its own, apart from the request log lines.
      await until(() => out.emf().length >= 3 && out.requests().length >= 3);
      const emf = out.emf();
      expect(emf).toHaveLength(3);
      expect(out.requests()).toHaveLength(3);
      for (const doc of emf) expect(emfProblems(doc)).toEqual([]);
      const [failedOver, streamed, unknown] = emf;

      const directive = (failedOver._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics[0];
      expect(directive).toMatchObject({ Namespace: 'AIGateway', Dimensions: [['Service'], ['Service', 'Model'], ['Service', 'Api']] });
      expect(failedOver).toMatchObject({
        Service: 'ai-gateway-spoke-a',
        Model: 'chat',
        Role: 'spoke',
        Status: 200,
        Requests: 1,
        Errors: 0,
        Faults: 0,
        Attempts: 2,
        Failovers: 1,
        Hedges: 0,
        InputTokens: c.usage!.prompt_tokens,
        OutputTokens: c.usage!.completion_tokens,
      });
      expect(metricsOf(failedOver)).toEqual({
        Requests: 'Count',
        Errors: 'Count',
        Faults: 'Count',
        Attempts: 'Count',
        Failovers: 'Count',
        Hedges: 'Count',
        LatencyMs: 'Milliseconds',
        InputTokens: 'Count',
        OutputTokens: 'Count',
      });
      // A stream adds its time to first token.
      expect(streamed).toMatchObject({ Requests: 1, Attempts: 1, Failovers: 0, TtftMs: expect.any(Number) });
      expect(metricsOf(streamed).TtftMs).toBe('Milliseconds');
      // An unknown model is one dimension value, whatever the client typed; no attempt was made.
      expect(unknown).toMatchObject({ Model: 'unknown', Status: 404, Errors: 1, Faults: 0, Attempts: 0 });
      expect(metricsOf(unknown)).not.toHaveProperty('TtftMs');
      expect(metricsOf(unknown)).not.toHaveProperty('InputTokens');
    } finally {
      await tg.close();
    }
  });

  it('counts a refused request under its tenant and reason (Refusals), so Lambda operators see who is throttled', async () => {
    const out = new LineCapture();
    const env = { AWS_LAMBDA_FUNCTION_NAME: 'proxy', GATEWAY_METRICS_NAMESPACE: 'AIGateway', GATEWAY_METRICS_SERVICE: 'ai-gateway-hub' };
    const doc = { ...config(), tenants: [{ id: 'team', keys: [hashKey('key-team')], limits: { rpm: 1 } }] };
    const tg = await startGateway(doc, 'all-in-one', { probes: false, observability: { destination: out, env } });
    try {
      const ask = () => postJson(`${tg.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer key-team' });
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(429);
      await until(() => out.emf().length >= 2);
      const [served, refused] = out.emf();
      for (const d of [served, refused]) expect(emfProblems(d)).toEqual([]);
      expect(served).not.toHaveProperty('Refusals');
      expect(refused).toMatchObject({ Status: 429, Errors: 1, Faults: 0, Attempts: 0, Refusals: 1, Tenant: 'team', Reason: 'rpm' });
      expect((refused._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics[1]).toEqual({
        Namespace: 'AIGateway',
        Dimensions: [
          ['Service', 'Tenant'],
          ['Service', 'Tenant', 'Reason'],
        ],
        Metrics: [{ Name: 'Refusals', Unit: 'Count' }],
      });
    } finally {
      await tg.close();
    }
  });

  it('writes no EMF outside Lambda and ECS unless the config turns it on, with its own namespace and service', async () => {
    const off = new LineCapture();
    const on = new LineCapture();
    const a = await startGateway(config(), 'all-in-one', { probes: false, observability: { destination: off, env: {} } });
    const b = await startGateway(config({ emf: true, metricsNamespace: 'Team/Gateway', serviceName: 'gw-local' }), 'all-in-one', {
      probes: false,
      observability: { destination: on, env: { GATEWAY_METRICS_SERVICE: 'ignored' } },
    });
    try {
      await a.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
      await b.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
      await until(() => off.requests().length > 0 && on.emf().length > 0);
      expect(off.requests()).toHaveLength(1);
      expect(off.emf()).toEqual([]);
      const [doc] = on.emf();
      expect(emfProblems(doc)).toEqual([]);
      expect(doc).toMatchObject({ Service: 'gw-local', _aws: { CloudWatchMetrics: [{ Namespace: 'Team/Gateway' }] } });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('EMF dimension values CloudWatch takes', () => {
  let upstream: FakeOpenAI;
  beforeAll(async () => (upstream = await startFakeOpenAI()));
  afterAll(() => upstream.close());

  // A model's name is the client's to choose, in any script: CloudWatch drops every metric of
  // a line with a dimension value it does not take, Requests by Service (what spokes scale on) too.
  it('keeps every metric of a model whose name is not ASCII, with a name that still tells it apart', async () => {
    const out = new LineCapture();
    const names = ['résumé-fr', 'モデル', '   ', `long-${'x'.repeat(1100)}`];
    const doc = {
      observability: { emf: true, serviceName: 'gw-ü' },
      providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'a', endpoints: [{ region: 'r', url: upstream.url }] }] }],
      models: names.map((name) => ({ name, targets: [{ provider: 'oa', model: 'm' }] })),
    };
    const tg = await startGateway(doc, 'all-in-one', { probes: false, observability: { destination: out, env: {} } });
    try {
      for (const model of names) await tg.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      await until(() => out.emf().length >= names.length);
      const emf = out.emf();
      for (const line of emf) expect(emfProblems(line)).toEqual([]);
      expect(emf.map((l) => l.Model)).toEqual(['r\\u{e9}sum\\u{e9}-fr', '\\u{30e2}\\u{30c7}\\u{30eb}', '\\u{20}\\u{20}\\u{20}', `long-${'x'.repeat(1019)}`]);
      expect(emf[0]).toMatchObject({ Service: 'gw-\\u{fc}', Requests: 1 });
    } finally {
      await tg.close();
    }
  });
});

describe('resolveObservability', () => {
  const defaults = parseConfig({}).observability;

  it('turns EMF on in Lambda and ECS, and writes synchronously in Lambda only', () => {
    expect(resolveObservability(defaults, {})).toMatchObject({ emf: false, syncWrites: false, namespace: 'AIGateway', service: 'ai-gateway' });
    expect(resolveObservability(defaults, { AWS_LAMBDA_FUNCTION_NAME: 'proxy' })).toMatchObject({ emf: true, syncWrites: true });
    expect(resolveObservability(defaults, { ECS_CONTAINER_METADATA_URI_V4: 'http://x' })).toMatchObject({ emf: true, syncWrites: false });
    expect(resolveObservability({ ...defaults, emf: false }, { AWS_LAMBDA_FUNCTION_NAME: 'proxy' }).emf).toBe(false);
  });

  // CloudWatch drops every line whose namespace it does not take: a config that asks for one is refused.
  it('refuses a namespace CloudWatch would not take, naming the key', () => {
    for (const ns of ['Équipe/Gateway', 'AWS/Gateway', ':Gateway', '   ', 'Team\tGateway']) {
      expect(configErrorOf({ observability: { metricsNamespace: ns } })).toMatch(/observability\.metricsNamespace: .*ASCII/);
    }
    expect(parseConfig({ observability: { metricsNamespace: 'Team Gateway/prod#1:a' } }).observability.metricsNamespace).toBe('Team Gateway/prod#1:a');
  });

  it('takes namespace and service from the config, else from the environment Pulumi sets', () => {
    const env = { GATEWAY_METRICS_NAMESPACE: 'NS', GATEWAY_METRICS_SERVICE: 'ai-gateway-spoke-b' };
    expect(resolveObservability(defaults, env)).toMatchObject({ namespace: 'NS', service: 'ai-gateway-spoke-b' });
    expect(resolveObservability({ ...defaults, metricsNamespace: 'Own', serviceName: 'own' }, env)).toMatchObject({ namespace: 'Own', service: 'own' });
  });
});
