/**
 * CloudWatch embedded metric format: one JSON line per request on stdout, which CloudWatch
 * Logs turns into metrics (Lambda and the ECS awslogs driver ship stdout there). The
 * spoke's autoscaling reads `Requests` by `Service`; alarms and dashboards read the rest.
 */
import type { DestinationStream } from 'pino';
import { hedgeOutcome, sentAttempts } from '../core/attempt';
import type { GatewayObserver, RequestEvent } from './events';
import { brokenAfterStart, errorOf } from './labels';
import { lineWriter } from './line-batch';

export type EmfUnit = 'Count' | 'Milliseconds' | 'None';

export interface EmfMetricDefinition {
  Name: string;
  Unit: EmfUnit;
}

export interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: EmfMetricDefinition[];
}

/** The root node: `_aws` metadata, dimension values and metric values as top-level members. */
export interface EmfRecord {
  _aws: { Timestamp: number; CloudWatchMetrics: EmfDirective[] };
  Service: string;
  Model: string;
  Api: string;
  [member: string]: unknown;
}

export interface EmfOptions {
  namespace: string;
  service: string;
  /** The `Model` dimension for a requested name (unknown names share one value). */
  modelLabel: (name: string) => string;
  now?: () => number;
}

/** `Api` (chat or embeddings) lets dashboards tell the endpoints apart across models. */
export const EMF_DIMENSIONS: readonly (readonly string[])[] = [['Service'], ['Service', 'Model'], ['Service', 'Api']];

/** Spend is also summed per tenant. */
export const EMF_TENANT_DIMENSIONS: readonly (readonly string[])[] = [['Service', 'Tenant']];

/** Refusals (the tenant's limits, budget or class) per tenant, and per tenant and reason. */
export const EMF_REFUSAL_DIMENSIONS: readonly (readonly string[])[] = [
  ['Service', 'Tenant'],
  ['Service', 'Tenant', 'Reason'],
];

/**
 * Requests, Errors (any failed request) and Faults (5xx, or a stream broken or out of
 * time after its 200), Attempts sent to providers, Failovers (more than one), Hedges
 * (a stream hedged on a second route), latency, time to first
 * token (streams), tokens in and out (when the provider reported usage), prompt-cache
 * reads and writes, and session affinity hits and moves (requests of a session); a
 * request refused for its tenant's limits, budget or class adds Refusals by Tenant and Reason.
 */
export function emfRecord(ev: RequestEvent, opts: EmfOptions): EmfRecord {
  const sent = sentAttempts(ev.attempts);
  const values: Array<[string, EmfUnit, number]> = [
    ['Requests', 'Count', 1],
    ['Errors', 'Count', errorOf(ev) !== undefined ? 1 : 0],
    ['Faults', 'Count', ev.status >= 500 || brokenAfterStart(ev) ? 1 : 0],
    ['Attempts', 'Count', sent],
    ['Failovers', 'Count', sent > 1 ? 1 : 0],
    ['Hedges', 'Count', hedgeOutcome(ev.attempts) ? 1 : 0],
    ['LatencyMs', 'Milliseconds', ev.latencyMs],
  ];
  // A declared metric needs its value: metrics this request has no value for are left out.
  if (ev.ttftMs !== undefined) values.push(['TtftMs', 'Milliseconds', ev.ttftMs]);
  if (ev.usage) {
    values.push(['InputTokens', 'Count', ev.usage.prompt_tokens], ['OutputTokens', 'Count', ev.usage.completion_tokens]);
    const cache = ev.usage.prompt_tokens_details;
    if (cache) values.push(['CachedInputTokens', 'Count', cache.cached_tokens ?? 0], ['CacheWriteTokens', 'Count', cache.cache_write_tokens ?? 0]);
  }
  // A spoke's reported cost is its proxy's to count: one CostUsd per request in the whole platform.
  const cost = ev.costUsd !== undefined && ev.costCountedBy === undefined ? ev.costUsd : undefined;
  if (cost !== undefined) values.push(['CostUsd', 'None', cost]);
  // Session affinity: hits keep the provider's prompt cache warm, moves lose it.
  if (ev.affinity) values.push(['AffinityHits', 'Count', ev.affinity === 'hit' ? 1 : 0], ['AffinityMoves', 'Count', ev.affinity === 'moved' ? 1 : 0]);
  const record: EmfRecord = {
    _aws: {
      Timestamp: (opts.now ?? Date.now)(),
      CloudWatchMetrics: [{ Namespace: opts.namespace, Dimensions: EMF_DIMENSIONS.map((d) => [...d]), Metrics: values.map(([Name, Unit]) => ({ Name, Unit })) }],
    },
    Service: opts.service,
    Model: opts.modelLabel(ev.model),
    Api: ev.api ?? 'chat',
    // Not dimensions: searchable in Logs Insights, free of metric cost.
    RequestId: ev.requestId,
    Role: ev.role,
    Status: ev.status,
  };
  for (const [name, , value] of values) record[name] = value;
  if (cost !== undefined && ev.tenant !== undefined) {
    record._aws.CloudWatchMetrics.push({ Namespace: opts.namespace, Dimensions: EMF_TENANT_DIMENSIONS.map((d) => [...d]), Metrics: [{ Name: 'CostUsd', Unit: 'None' }] });
    record.Tenant = ev.tenant;
  }
  if (ev.refusal) {
    record._aws.CloudWatchMetrics.push({ Namespace: opts.namespace, Dimensions: EMF_REFUSAL_DIMENSIONS.map((d) => [...d]), Metrics: [{ Name: 'Refusals', Unit: 'Count' }] });
    record.Tenant = ev.tenant ?? 'none';
    record.Reason = ev.refusal;
    record.Refusals = 1;
  }
  return record;
}

/** Writes one EMF line per request event to `destination` (stdout in production). */
export function emfObserver(destination: DestinationStream, opts: EmfOptions): GatewayObserver {
  const write = lineWriter(destination);
  const labels = new Map<string, string>();
  const modelLabel = (name: string) => {
    const label = opts.modelLabel(name);
    let value = labels.get(label);
    // Labels are the configured names and one for the rest: a bounded map.
    if (value === undefined) labels.set(label, (value = dimensionValue(label)));
    return value;
  };
  const own = { ...opts, service: dimensionValue(opts.service), modelLabel };
  return (ev) => {
    if (ev.type === 'request') write(`${JSON.stringify(emfRecord(ev, own))}\n`);
  };
}

/** What CloudWatch takes as a dimension value: 1 to 1024 ASCII characters, no control characters, not all whitespace. */
const DIMENSION_VALUE = /^(?=.*\S)[\x20-\x7e]{1,1024}$/;

/**
 * A dimension value CloudWatch takes: a line with one it does not take loses all its metrics
 * (model names are free text). Other characters become `\u{hex}` escapes, distinct per name.
 */
export function dimensionValue(value: string): string {
  if (DIMENSION_VALUE.test(value)) return value;
  const escape = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  return value.replace(value.trim() === '' ? /[\s\S]/gu : /[^\x20-\x7e]/gu, escape).slice(0, 1024);
}
