/** IAM policy documents as typed objects (serialized once, with Outputs resolved). */
import * as pulumi from '@pulumi/pulumi';

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

export interface SpokePrincipals {
  organizationArn?: string;
  externalAccountIds: string[];
}

export function organizationId(organizationArn: string): string {
  return organizationArn.slice(organizationArn.lastIndexOf('/') + 1);
}

/**
 * The same grant for every spoke account: one statement for the organization (any
 * principal whose account is in it) and one naming the external accounts.
 */
export function spokeStatements(
  principals: SpokePrincipals,
  partition: string,
  grant: Omit<PolicyStatement, 'Principal'>,
): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  if (principals.organizationArn) {
    statements.push({
      ...grant,
      ...(grant.Sid ? { Sid: `${grant.Sid}Org` } : {}),
      Principal: { AWS: '*' },
      Condition: { ...grant.Condition, StringEquals: { ...grant.Condition?.StringEquals, 'aws:PrincipalOrgID': organizationId(principals.organizationArn) } },
    });
  }
  if (principals.externalAccountIds.length > 0) {
    statements.push({
      ...grant,
      ...(grant.Sid ? { Sid: `${grant.Sid}External` } : {}),
      Principal: { AWS: principals.externalAccountIds.map((id) => `arn:${partition}:iam::${id}:root`) },
    });
  }
  return statements;
}
