/**
 * The ECR repository of the runtime image (built from runtime/Dockerfile and pushed by
 * CI; this program only references it by tag or digest): immutable tags, scan on push,
 * KMS encryption, pullable by the registered spokes' task execution roles.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { executionRoleGrant, policyJson, type SpokeGrantee } from '../lib/iam';

export interface ImageRegistryArgs {
  kmsKey: aws.kms.Key;
  /** Registered spokes: their task execution roles pull the image. */
  spokes: readonly SpokeGrantee[];
  partition: string;
}

export const RUNTIME_REPOSITORY = 'ai-gateway-runtime';

export class ImageRegistry extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;

  constructor(name: string, args: ImageRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:ImageRegistry', name, {}, opts);
    const parent = { parent: this };
    this.repository = new aws.ecr.Repository(
      `${name}-runtime`,
      {
        name: RUNTIME_REPOSITORY,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: 'KMS', kmsKey: args.kmsKey.arn }],
      },
      // A fixed name: a replacement (e.g. another encryption key) must free it first.
      { parent: this, deleteBeforeReplace: true },
    );
    const pullers = executionRoleGrant(args.spokes, args.partition, {
      Sid: 'SpokesPull',
      Effect: 'Allow',
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
    });
    if (pullers.length > 0) new aws.ecr.RepositoryPolicy(`${name}-runtime`, { repository: this.repository.name, policy: policyJson(pullers) }, parent);
    new aws.ecr.LifecyclePolicy(
      `${name}-runtime`,
      {
        repository: this.repository.name,
        policy: JSON.stringify({
          rules: [{ rulePriority: 1, description: 'keep the last 50 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 }, action: { type: 'expire' } }],
        }),
      },
      parent,
    );
    this.registerOutputs({ repositoryUrl: this.repository.repositoryUrl });
  }
}
