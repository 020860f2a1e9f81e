/**
 * Alarms on one runtime service's own metrics (error rate, failover rate, p99 latency,
 * p99 time to first token), to the hub's alarm topic. The hub declares them for the
 * proxy; each spoke declares its own in the hub account, reading its metrics from the
 * spoke account through the CloudWatch cross-account link (`metricsAccountId`).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { RuntimeAlarmsConfig } from '../config-schema';
import { METRICS_NAMESPACE, RUNTIME_METRICS, SERVICE_DIMENSION, type RuntimeMetricName } from './metrics';

export const RUNTIME_ALARM_PERIOD_SECONDS = 60;

type MetricQuery = aws.types.input.cloudwatch.MetricAlarmMetricQuery;

export interface RuntimeAlarmSpec {
  /** Suffix of the alarm name: `<prefix>-<id>`. */
  id: 'error-rate' | 'failover-rate' | 'latency-p99' | 'ttft-p99';
  description: string;
  threshold: number;
  queries: MetricQuery[];
}

function metric(id: string, metricName: RuntimeMetricName, stat: string, service: string, accountId: string | undefined, returnData = false): MetricQuery {
  return {
    id,
    returnData,
    ...(accountId ? { accountId } : {}),
    metric: { namespace: METRICS_NAMESPACE, metricName, dimensions: { [SERVICE_DIMENSION]: service }, stat, period: RUNTIME_ALARM_PERIOD_SECONDS },
  };
}

/** `100 * part / requests`, judged only in minutes with enough requests to mean something. */
export function rateExpression(part: string, minRequests: number): string {
  return `IF(requests >= ${minRequests}, 100 * FILL(${part}, 0) / requests, 0)`;
}

/** The four alarms of one service: pure, so tests and the dashboard read the same queries. */
export function runtimeAlarmSpecs(service: string, t: RuntimeAlarmsConfig, accountId?: string): RuntimeAlarmSpec[] {
  const rate = (part: 'errors' | 'failovers', metricName: RuntimeMetricName): MetricQuery[] => [
    metric('requests', RUNTIME_METRICS.requests, 'Sum', service, accountId),
    metric(part, metricName, 'Sum', service, accountId),
    { id: 'rate', label: `${part} per 100 requests`, expression: rateExpression(part, t.minRequestsPerMinute), returnData: true },
  ];
  return [
    {
      id: 'error-rate',
      description: `${service}: ${t.errorRatePercent}% or more of requests end in an error`,
      threshold: t.errorRatePercent,
      queries: rate('errors', RUNTIME_METRICS.errors),
    },
    {
      id: 'failover-rate',
      description: `${service}: ${t.failoverRatePercent}% or more of requests fail over (a provider or route is in trouble)`,
      threshold: t.failoverRatePercent,
      queries: rate('failovers', RUNTIME_METRICS.failovers),
    },
    {
      id: 'latency-p99',
      description: `${service}: p99 latency at or above ${t.latencyP99Ms} ms`,
      threshold: t.latencyP99Ms,
      queries: [metric('latency', RUNTIME_METRICS.latency, 'p99', service, accountId, true)],
    },
    {
      id: 'ttft-p99',
      description: `${service}: p99 time to first token at or above ${t.ttftP99Ms} ms`,
      threshold: t.ttftP99Ms,
      queries: [metric('ttft', RUNTIME_METRICS.ttft, 'p99', service, accountId, true)],
    },
  ];
}

export interface RuntimeAlarmsArgs {
  /** The runtime's `Service` dimension. */
  service: string;
  /** Alarms are named `<namePrefix>-<id>`; default the service name. */
  namePrefix?: string;
  thresholds: RuntimeAlarmsConfig;
  topicArn: pulumi.Input<string>;
  /** The account holding the metrics, when it is not the alarms' own (a spoke's). */
  metricsAccountId?: string;
}

export class RuntimeAlarms extends pulumi.ComponentResource {
  readonly alarms: aws.cloudwatch.MetricAlarm[];

  constructor(name: string, args: RuntimeAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:lib:RuntimeAlarms', name, {}, opts);
    this.alarms = runtimeAlarmSpecs(args.service, args.thresholds, args.metricsAccountId).map(
      (spec) =>
        new aws.cloudwatch.MetricAlarm(
          `${name}-${spec.id}`,
          {
            name: `${args.namePrefix ?? args.service}-${spec.id}`,
            alarmDescription: `ai-gateway ${spec.description}`,
            metricQueries: spec.queries,
            threshold: spec.threshold,
            comparisonOperator: 'GreaterThanOrEqualToThreshold',
            // Three bad minutes out of five: one slow burst does not page.
            evaluationPeriods: 5,
            datapointsToAlarm: 3,
            // No traffic is not an incident; the NLB and Lambda alarms cover a dead service.
            treatMissingData: 'notBreaching',
            alarmActions: [args.topicArn],
            okActions: [args.topicArn],
          },
          { parent: this },
        ),
    );
    this.registerOutputs({ alarmNames: this.alarms.map((a) => a.name) });
  }
}
