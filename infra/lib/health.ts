/**
 * Health-check settings shared by every NLB target group: the fastest AWS allows.
 * NLB target groups accept intervals of 5-300 s and thresholds of 2-10, so a target is
 * out after 2 failed checks 5 s apart (about 10 s) and back after 2 good ones.
 */
import type * as aws from '@pulumi/aws';

export const HEALTH_PATH = '/healthz';
export const HEALTH_INTERVAL_SECONDS = 5;
export const HEALTH_TIMEOUT_SECONDS = 3;
export const HEALTH_THRESHOLD = 2;
/** Route 53 TTL for non-alias records (alias records take the target's TTL, 60 s for ELB). */
export const DNS_TTL_SECONDS = 10;
/** CloudWatch alarms behind Route 53 health checks must be standard resolution. */
export const ALARM_PERIOD_SECONDS = 60;
/**
 * The longest a deregistered target (a task a deploy replaces) keeps its connections; then
 * the NLB cuts them. The runtime closes each keep-alive connection within
 * `server.connectionMaxAgeMs` (20 s) after its answer, so the target is left with streams
 * in flight only, and those shorter than this finish.
 */
export const DEREGISTRATION_DELAY_SECONDS = 120;

export function healthzCheck(): aws.types.input.lb.TargetGroupHealthCheck {
  return {
    enabled: true,
    protocol: 'HTTP',
    path: HEALTH_PATH,
    port: 'traffic-port',
    matcher: '200',
    interval: HEALTH_INTERVAL_SECONDS,
    timeout: HEALTH_TIMEOUT_SECONDS,
    healthyThreshold: HEALTH_THRESHOLD,
    unhealthyThreshold: HEALTH_THRESHOLD,
  };
}
