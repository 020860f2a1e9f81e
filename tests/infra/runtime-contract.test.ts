/**
 * The pieces of the platform's contract with the runtime that need no stack run: parameter
 * sizing, config validation, cache naming and placement, and the alarm and dashboard
 * queries over the runtime's embedded metrics.
 */
import { perServiceSearch } from '../../infra/hub/runtime-widgets';
import { runtimeServiceName } from '../../infra/lib/metrics';
import { runtimeAlarmSpecs } from '../../infra/lib/runtime-alarms';
import { parameterTier, validatedConfigJson } from '../../infra/lib/runtime-config-parameter';
import { nodeAzs, replicationGroupId } from '../../infra/lib/state-cache';
import { runtimeAlarmsSchema } from '../../infra/config';

describe('runtime config parameter', () => {
  test('Standard up to 4 KB, Advanced up to 8 KB, and past that a clear refusal', () => {
    expect(parameterTier('x'.repeat(4096))).toBe('Standard');
    expect(parameterTier('x'.repeat(4097))).toBe('Advanced');
    expect(parameterTier('é'.repeat(2049))).toBe('Advanced');
    expect(parameterTier('x'.repeat(8192))).toBe('Advanced');
    expect(() => parameterTier('x'.repeat(8193))).toThrow('the runtime config is 8193 bytes; an SSM parameter holds at most 8192 (Advanced tier)');
  });

  test('a config the runtime would reject fails with the key path named; a good one comes back as JSON', () => {
    expect(() => validatedConfigJson({ state: { redis: 'memcached://x:11211' }, models: [] }, 'stack spoke-x')).toThrow(
      /stack spoke-x: the runtime would reject the rendered config:\n {2}- state\.redis: a redis:\/\/ or rediss:\/\/ URL/,
    );
    const doc = { state: { redis: 'rediss://master.example.cache.amazonaws.com:6379' } };
    expect(JSON.parse(validatedConfigJson(doc, 'x'))).toEqual(doc);
  });
});

describe('shared-state cache', () => {
  test('replication group ids are lowercase, single-hyphenated, at most 40 characters, no trailing hyphen', () => {
    expect(replicationGroupId('spoke-a')).toBe('ai-gateway-spoke-a');
    expect(replicationGroupId('hub')).toBe('ai-gateway-hub');
    for (const stack of ['spoke-a--b-', 'spoke-x-', 'hub-very-long-name-that-keeps-going-on']) {
      const id = replicationGroupId(stack);
      expect(id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(id.length).toBeLessThanOrEqual(40);
    }
  });

  test('nodes go round the AZs, primary first, so a replica is in another AZ whenever there is one', () => {
    expect(nodeAzs(['a', 'b', 'c'], 2)).toEqual(['a', 'b']);
    expect(nodeAzs(['a', 'b'], 3)).toEqual(['a', 'b', 'a']);
  });
});

describe('alarm and dashboard queries over the runtime metrics', () => {
  const thresholds = runtimeAlarmsSchema.parse({});

  test('four alarms per service; metrics read from the named account, expressions computed where the alarm is', () => {
    const specs = runtimeAlarmSpecs(runtimeServiceName('spoke-q'), thresholds, '444444444444');
    expect(specs.map((s) => s.id)).toEqual(['error-rate', 'failover-rate', 'latency-p99', 'ttft-p99']);
    for (const spec of specs) {
      for (const query of spec.queries) {
        if (query.metric) expect(query).toMatchObject({ accountId: '444444444444', metric: { namespace: 'AIGateway', dimensions: { Service: 'ai-gateway-spoke-q' } } });
        else expect(query.accountId).toBeUndefined();
      }
      expect(spec.queries.filter((q) => q.returnData === true)).toHaveLength(1);
    }
    expect(runtimeAlarmSpecs('ai-gateway-hub', thresholds)[0].queries.every((q) => q.accountId === undefined)).toBe(true);
  });

  test('rates are judged only with enough traffic: below the minimum the expression yields 0', () => {
    const errorRate = runtimeAlarmSpecs('svc', { ...thresholds, minRequestsPerMinute: 50 })[0];
    expect(errorRate.queries.find((q) => q.returnData === true)?.expression).toBe('IF(requests >= 50, 100 * FILL(errors, 0) / requests, 0)');
    expect(errorRate.threshold).toBe(thresholds.errorRatePercent);
  });

  test('per-service searches match exactly the Service dimension set of the namespace', () => {
    expect(perServiceSearch('Failovers', 'Sum')).toBe(`SEARCH('{AIGateway,Service} MetricName="Failovers"', 'Sum', 60)`);
  });
});
