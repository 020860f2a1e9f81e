/**
 * A customer-managed KMS key (rotated yearly) for the stack's data at rest: log groups,
 * secrets, the CloudTrail bucket, SNS, ECR. The key policy names each AWS service that
 * may use it, scoped to this account, and optionally lets the registered spokes' task
 * execution roles decrypt through ECR (all) and Secrets Manager (third-party spokes) only.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { executionRoleGrant, policyJson, type PolicyStatement, type SpokeGrantee } from './iam';

export type KeyUser = 'logs' | 'cloudtrail' | 'cloudwatch-alarms';

export interface EncryptionKeyArgs {
  accountId: string;
  region: string;
  partition: string;
  users: KeyUser[];
  /** Registered spokes whose task execution roles pull the runtime image (and, third-party spokes, read the API keys). */
  spokes?: readonly SpokeGrantee[];
  description: string;
  /** `alias/<aliasName>` names the key in the console. */
  aliasName: string;
}

export class EncryptionKey extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;

  constructor(name: string, args: EncryptionKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:lib:EncryptionKey', name, {}, opts);
    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: args.description,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: policyJson(keyPolicy(args)),
      },
      { parent: this },
    );
    new aws.kms.Alias(`${name}-alias`, { name: `alias/${args.aliasName}`, targetKeyId: this.key.keyId }, { parent: this });
    this.registerOutputs({ keyArn: this.key.arn });
  }
}

function keyPolicy(args: EncryptionKeyArgs): PolicyStatement[] {
  const { accountId, region, partition } = args;
  const statements: PolicyStatement[] = [
    // Without this the key becomes unmanageable; IAM policies in the account decide the rest.
    { Sid: 'AccountAdministers', Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${accountId}:root` }, Action: 'kms:*', Resource: '*' },
  ];
  if (args.users.includes('logs')) {
    statements.push({
      Sid: 'CloudWatchLogs',
      Effect: 'Allow',
      Principal: { Service: `logs.${region}.amazonaws.com` },
      // No kms:Describe*: no Describe action carries the encryption context, so the condition could never hold for it.
      Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${accountId}:log-group:*` } },
    });
  }
  if (args.users.includes('cloudtrail')) {
    statements.push({
      Sid: 'CloudTrail',
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 'kms:GenerateDataKey*',
      Resource: '*',
      Condition: {
        StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${partition}:cloudtrail:*:${accountId}:trail/*` },
        StringEquals: { 'aws:SourceAccount': accountId },
      },
    });
    // DescribeKey carries no encryption context: under the statement above it would always be refused.
    statements.push({
      Sid: 'CloudTrailDescribe',
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
    });
  }
  if (args.users.includes('cloudwatch-alarms')) {
    statements.push({
      Sid: 'CloudWatchAlarmsToSns',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
    });
  }
  if (args.spokes) {
    const decrypt: Omit<PolicyStatement, 'Principal'> = { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey'], Resource: '*' };
    statements.push(
      ...executionRoleGrant(args.spokes, partition, { ...decrypt, Sid: 'SpokesPullImage', Condition: { StringEquals: { 'kms:ViaService': `ecr.${region}.amazonaws.com` } } }),
      ...executionRoleGrant(
        args.spokes.filter((s) => s.kind === 'third-party'),
        partition,
        { ...decrypt, Sid: 'ThirdPartySpokesReadKeys', Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } } },
      ),
    );
  }
  return statements;
}
