/**
 * Logs, Prometheus metrics and EMF lines for one gateway, subscribed to its event bus:
 * the one call gateway.ts makes.
 */
import type { DestinationStream } from 'pino';
import type { GatewayConfig, Role } from '../config/schema';
import { emfObserver } from './emf';
import type { EventBus } from './events';
import { createLogger, logObserver, stdout, type Logger } from './logger';
import { modelLabeller } from './labels';
import type { GatewayMetrics } from './metrics';
import { resolveObservability, type ObservabilitySettings } from './settings';

export interface ObservabilityOptions {
  /** Where log and EMF lines go (tests pass a stream); stdout when omitted. */
  destination?: DestinationStream;
  /** Environment that decides the defaults (Lambda, ECS, GATEWAY_METRICS_*); process.env when omitted. */
  env?: NodeJS.ProcessEnv;
  /** EMF timestamps (epoch ms). */
  now?: () => number;
  /**
   * Count Prometheus metrics for GET /metrics (default on). The Lambda proxy turns it off:
   * no one can scrape a Lambda instance (its metrics are EMF lines), and prom-client's
   * load is a good part of a cold start.
   */
  prometheus?: boolean;
}

export interface GatewayObservability {
  readonly settings: ObservabilitySettings;
  readonly logger: Logger;
  /** Absent when `prometheus` is off. */
  readonly metrics?: GatewayMetrics;
  /** Stops observing (the gateway closes). */
  stop(): void;
}

export function observeGateway(config: GatewayConfig, role: Role, events: EventBus, isKnownModel: (name: string) => boolean, opts: ObservabilityOptions = {}): GatewayObservability {
  const settings = resolveObservability(config.observability, opts.env);
  const destination = opts.destination ?? stdout(settings.syncWrites);
  const loggerOptions = { level: settings.logLevel, service: settings.service, role, destination };
  const logger = createLogger(loggerOptions);
  const metrics = opts.prometheus === false ? undefined : new (require('./metrics') as typeof import('./metrics')).GatewayMetrics({ role, isKnownModel });
  const unsubscribe = [events.subscribe(logObserver(logger, { logContent: settings.logContent }))];
  if (metrics) unsubscribe.push(events.subscribe(metrics.observe));
  if (settings.emf) {
    const modelLabel = modelLabeller(isKnownModel);
    unsubscribe.push(events.subscribe(emfObserver(destination, { namespace: settings.namespace, service: settings.service, modelLabel, now: opts.now })));
  }
  return {
    settings,
    logger,
    metrics,
    stop: () => unsubscribe.forEach((u) => u()),
  };
}
