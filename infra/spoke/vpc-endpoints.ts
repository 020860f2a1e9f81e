/**
 * The AWS APIs a spoke's tasks reach through interface endpoints: ECR, CloudWatch Logs,
 * STS, SSM (the runtime config, injected at start and polled), Secrets Manager (the
 * shared-state token and third-party keys) and, for Bedrock spokes, Bedrock Runtime in
 * the VPC's Region. Other Regions and third-party APIs go through NAT.
 */
import type { ProviderKind } from '../config-schema';

export function interfaceEndpointServices(kind: ProviderKind): string[] {
  const common = ['ecr.api', 'ecr.dkr', 'logs', 'sts', 'ssm', 'secretsmanager'];
  return kind === 'bedrock' ? [...common, 'bedrock-runtime'] : common;
}

/** AWS APIs the hub's Lambda proxy reaches inside the VPC: its config (SSM) and the shared-state token. */
export const HUB_ENDPOINT_SERVICES = ['ssm', 'secretsmanager'];
