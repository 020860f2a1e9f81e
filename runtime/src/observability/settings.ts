/** The config's `observability` block with the defaults the environment decides. */
import type { ObservabilityConfig } from '../config/schema';

export const DEFAULT_METRICS_NAMESPACE = 'AIGateway';
export const DEFAULT_SERVICE_NAME = 'ai-gateway';

export interface ObservabilitySettings {
  logLevel: ObservabilityConfig['logLevel'];
  logContent: boolean;
  /** Write CloudWatch embedded-metric-format lines. */
  emf: boolean;
  namespace: string;
  /** The `Service` dimension (spoke autoscaling reads `Requests` by it) and log field. */
  service: string;
  /** Lambda freezes the process between invocations: write log lines before returning. */
  syncWrites: boolean;
}

export function resolveObservability(cfg: ObservabilityConfig, env: NodeJS.ProcessEnv = process.env): ObservabilitySettings {
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  // On ECS (Fargate), the awslogs driver sends stdout to CloudWatch Logs, which reads EMF.
  const inEcs = Boolean(env.ECS_CONTAINER_METADATA_URI_V4);
  return {
    logLevel: cfg.logLevel,
    logContent: cfg.logContent,
    emf: cfg.emf ?? (inLambda || inEcs),
    namespace: cfg.metricsNamespace ?? (env.GATEWAY_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE),
    service: cfg.serviceName ?? (env.GATEWAY_METRICS_SERVICE || DEFAULT_SERVICE_NAME),
    syncWrites: inLambda,
  };
}
