/**
 * Dashboard widgets over the runtime's own metrics (CloudWatch embedded metric format,
 * namespace AIGateway, dimension Service). Fleet widgets use SEARCH, so every service
 * appears by name, the proxy's and each spoke's (whose metrics reach the hub through the
 * cross-account link), including spokes added after the hub was deployed. The proxy's
 * rates use the same expressions as its alarms.
 */
import type { RuntimeAlarmsConfig } from '../config-schema';
import { METRICS_NAMESPACE, RUNTIME_METRICS, SERVICE_DIMENSION, type RuntimeMetricName } from '../lib/metrics';
import { rateExpression } from '../lib/runtime-alarms';

export interface RuntimeWidgetsArgs {
  region: string;
  /** The proxy's `Service` dimension value. */
  proxyService: string;
  thresholds: RuntimeAlarmsConfig;
}

const PERIOD_SECONDS = 60;

/** One line per `Service`: metrics with exactly the Service dimension (not Service,Model). */
export function perServiceSearch(metricName: RuntimeMetricName, stat: string): string {
  return `SEARCH('{${METRICS_NAMESPACE},${SERVICE_DIMENSION}} MetricName="${metricName}"', '${stat}', ${PERIOD_SECONDS})`;
}

type MetricRow = unknown[];

function widget(title: string, region: string, metrics: MetricRow[], extra: Record<string, unknown> = {}) {
  return { type: 'metric', width: 12, height: 6, properties: { title, region, period: PERIOD_SECONDS, view: 'timeSeries', stacked: false, metrics, ...extra } };
}

function searchRows(...lines: [RuntimeMetricName, string, string][]): MetricRow[] {
  return lines.map(([name, stat, label], i) => [{ expression: perServiceSearch(name, stat), id: `s${i}`, label }]);
}

export function runtimeWidgets(args: RuntimeWidgetsArgs): ReturnType<typeof widget>[] {
  const { region, proxyService: service, thresholds: t } = args;
  const proxy = (metricName: RuntimeMetricName, stat: string, id: string, visible = true): MetricRow => [
    METRICS_NAMESPACE,
    metricName,
    SERVICE_DIMENSION,
    service,
    { stat, id, visible, label: `${metricName} ${stat}` },
  ];
  const line = (label: string, value: number) => ({ label, value });
  return [
    widget('Requests and attempts by service', region, searchRows([RUNTIME_METRICS.requests, 'Sum', 'requests'], [RUNTIME_METRICS.attempts, 'Sum', 'attempts'])),
    widget(
      'Errors, failovers and hedges by service',
      region,
      searchRows([RUNTIME_METRICS.errors, 'Sum', 'errors'], [RUNTIME_METRICS.failovers, 'Sum', 'failovers'], [RUNTIME_METRICS.hedges, 'Sum', 'hedges']),
    ),
    widget('Latency p99 by service (ms)', region, searchRows([RUNTIME_METRICS.latency, 'p99', 'p99']), { annotations: { horizontal: [line('alarm', t.latencyP99Ms)] } }),
    widget('Time to first token p99 by service (ms)', region, searchRows([RUNTIME_METRICS.ttft, 'p99', 'p99']), { annotations: { horizontal: [line('alarm', t.ttftP99Ms)] } }),
    widget('Tokens by service', region, searchRows([RUNTIME_METRICS.inputTokens, 'Sum', 'in'], [RUNTIME_METRICS.outputTokens, 'Sum', 'out'])),
    widget(
      `Proxy (${service}): error and failover rate (%)`,
      region,
      [
        [{ expression: rateExpression('errors', t.minRequestsPerMinute), id: 'errorRate', label: 'errors per 100 requests' }],
        [{ expression: rateExpression('failovers', t.minRequestsPerMinute), id: 'failoverRate', label: 'failovers per 100 requests' }],
        proxy(RUNTIME_METRICS.requests, 'Sum', 'requests', false),
        proxy(RUNTIME_METRICS.errors, 'Sum', 'errors', false),
        proxy(RUNTIME_METRICS.failovers, 'Sum', 'failovers', false),
      ],
      { annotations: { horizontal: [line('error alarm', t.errorRatePercent), line('failover alarm', t.failoverRatePercent)] } },
    ),
    widget(`Proxy (${service}): p99 latency and time to first token (ms)`, region, [proxy(RUNTIME_METRICS.latency, 'p99', 'latency'), proxy(RUNTIME_METRICS.ttft, 'p99', 'ttft')]),
  ];
}
