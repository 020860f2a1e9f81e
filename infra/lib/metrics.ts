/**
 * The runtime's metric vocabulary as the platform reads it: CloudWatch embedded metric
 * format lines the runtime writes to its logs (Lambda and Fargate alike), in namespace
 * `$GATEWAY_METRICS_NAMESPACE` with dimension sets `Service` and `Service,Model`, where
 * `Service` is `$GATEWAY_METRICS_SERVICE`. One place, so dashboards, alarms, autoscaling
 * and the environment the runtime gets cannot drift apart.
 */

export const METRICS_NAMESPACE = 'AIGateway';
export const SERVICE_DIMENSION = 'Service';
export const MODEL_DIMENSION = 'Model';

/** Metric names, as the runtime writes them (units in the comments). */
export const RUNTIME_METRICS = {
  /** Count: client requests answered. */
  requests: 'Requests',
  /** Count: client requests that ended in an error. */
  errors: 'Errors',
  /** Count: upstream attempts (one request may make several). */
  attempts: 'Attempts',
  /** Count: requests that moved to another route. */
  failovers: 'Failovers',
  /** Count: streams hedged on a second route (their first chunk was late). */
  hedges: 'Hedges',
  /** Milliseconds: the whole answer. */
  latency: 'LatencyMs',
  /** Milliseconds: until the first streamed token. */
  ttft: 'TtftMs',
  /** Count. */
  inputTokens: 'InputTokens',
  /** Count. */
  outputTokens: 'OutputTokens',
} as const;

export type RuntimeMetricName = (typeof RUNTIME_METRICS)[keyof typeof RUNTIME_METRICS];

/** Environment variable names of the runtime contract (see docs/infra.md). */
export const RUNTIME_ENV = {
  role: 'GATEWAY_ROLE',
  metricsNamespace: 'GATEWAY_METRICS_NAMESPACE',
  metricsService: 'GATEWAY_METRICS_SERVICE',
  /** The config as JSON: what the runtime starts from without any API call. */
  configJson: 'GATEWAY_CONFIG_JSON',
  /** The SSM parameter holding the config; polled for hot reload. */
  configParameter: 'GATEWAY_CONFIG_SSM_PARAMETER',
  configPollSeconds: 'GATEWAY_CONFIG_POLL_SECONDS',
  /** The shared-state AUTH token itself (ECS fills it from Secrets Manager at task start). */
  redisAuthToken: 'GATEWAY_REDIS_AUTH_TOKEN',
  /** Where to read that token when it is not in the environment (Lambda). */
  redisAuthSecretArn: 'GATEWAY_REDIS_AUTH_SECRET_ARN',
} as const;

/** How often the runtime asks SSM whether its config changed. */
export const CONFIG_POLL_SECONDS = 30;

/** The `Service` dimension value of a stack's runtime (also the ECS service name of a spoke). */
export function runtimeServiceName(stack: string): string {
  return `ai-gateway-${stack}`;
}

export function metricsEnvironment(service: string): Record<string, string> {
  return { [RUNTIME_ENV.metricsNamespace]: METRICS_NAMESPACE, [RUNTIME_ENV.metricsService]: service };
}
