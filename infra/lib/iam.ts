/** IAM policy documents as typed objects (serialized once, with Outputs resolved). */
import * as pulumi from '@pulumi/pulumi';
import type { SpokeRegistryEntry } from '../config-schema';
import { spokeExecutionRoleName } from './naming';

export type Principal = '*' | { AWS?: pulumi.Input<string> | pulumi.Input<string>[]; Service?: string | string[] };

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: Principal;
  Action: string | string[];
  Resource?: pulumi.Input<string> | pulumi.Input<string>[];
  Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[] | boolean>>;
}

export function policyJson(statements: PolicyStatement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: '2012-10-17', Statement: statements });
}

/** Trust policy letting an AWS service assume a role. */
export function serviceTrustPolicy(service: string, condition?: PolicyStatement['Condition']): pulumi.Output<string> {
  return policyJson([{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', ...(condition ? { Condition: condition } : {}) }]);
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** What the hub grants to spokes is keyed by its spoke registry (`ai-gateway:spokes`). */
export type SpokeGrantee = Pick<SpokeRegistryEntry, 'stack' | 'accountId' | 'kind'>;

/**
 * One grant to the task execution roles of `spokes` (the role ECS pulls the image and reads
 * secrets with): their accounts as principals, and only the role named for each spoke, by
 * exact ARN. Never every principal of an account or an organization. Empty when no spoke
 * qualifies (a policy without statements is invalid: callers then declare none).
 */
export function executionRoleGrant(spokes: readonly SpokeGrantee[], partition: string, grant: Omit<PolicyStatement, 'Principal'>): PolicyStatement[] {
  if (spokes.length === 0) return [];
  return [
    {
      ...grant,
      Principal: { AWS: [...new Set(spokes.map((s) => accountRoot(partition, s.accountId)))] },
      Condition: { ...grant.Condition, ArnEquals: { 'aws:PrincipalArn': spokes.map((s) => spokeExecutionRoleArn(partition, s.accountId, s.stack)) } },
    },
  ];
}

export function accountRoot(partition: string, accountId: string): string {
  return `arn:${partition}:iam::${accountId}:root`;
}

export function spokeExecutionRoleArn(partition: string, accountId: string, stack: string): string {
  return `arn:${partition}:iam::${accountId}:role/${spokeExecutionRoleName(stack)}`;
}
