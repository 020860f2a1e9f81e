/**
 * CloudTrail for the hub account: a multi-Region trail with log-file validation into a
 * bucket that is KMS-encrypted, versioned, closed to the public and to plain HTTP.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { policyJson } from '../lib/iam';

export interface AuditTrailArgs {
  kmsKey: aws.kms.Key;
  accountId: string;
  region: string;
  partition: string;
}

export const TRAIL_NAME = 'ai-gateway-hub';

export class AuditTrail extends pulumi.ComponentResource {
  readonly trail: aws.cloudtrail.Trail;
  readonly bucket: aws.s3.Bucket;

  constructor(name: string, args: AuditTrailArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:AuditTrail', name, {}, opts);
    const parent = { parent: this };
    const { partition, accountId, region } = args;
    this.bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: false }, parent);
    const publicBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-bucket`,
      { bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-bucket`,
      { bucket: this.bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.kmsKey.arn }, bucketKeyEnabled: true }] },
      parent,
    );
    new aws.s3.BucketVersioning(`${name}-bucket`, { bucket: this.bucket.id, versioningConfiguration: { status: 'Enabled' } }, parent);
    const trailArn = `arn:${partition}:cloudtrail:${region}:${accountId}:trail/${TRAIL_NAME}`;
    const policy = new aws.s3.BucketPolicy(
      `${name}-bucket`,
      {
        bucket: this.bucket.id,
        policy: policyJson([
          {
            Sid: 'CloudTrailAclCheck',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:GetBucketAcl',
            Resource: this.bucket.arn,
            Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
          },
          {
            Sid: 'CloudTrailWrite',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: pulumi.interpolate`${this.bucket.arn}/AWSLogs/${accountId}/*`,
            Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': trailArn } },
          },
          {
            Sid: 'DenyPlainHttp',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ]),
      },
      { parent: this, dependsOn: [publicBlock] },
    );
    this.trail = new aws.cloudtrail.Trail(
      `${name}-trail`,
      {
        name: TRAIL_NAME,
        s3BucketName: this.bucket.id,
        isMultiRegionTrail: true,
        includeGlobalServiceEvents: true,
        enableLogFileValidation: true,
        kmsKeyId: args.kmsKey.arn,
      },
      { parent: this, dependsOn: [policy] },
    );
    this.registerOutputs({ trailArn: this.trail.arn, bucket: this.bucket.id });
  }
}
