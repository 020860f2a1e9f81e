/**
 * The ECR repository of the runtime image: immutable tags, scan on push, KMS encryption,
 * pullable by the registered spokes' task execution roles. The image is built from
 * runtime/Dockerfile and pushed by CI, or, with `imageBuild`, by this program
 * (@pulumi/docker-build, Docker buildx where pulumi runs); spokes name it in service.image.
 */
import * as aws from '@pulumi/aws';
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';
import type { HubConfig } from '../config-schema';
import { executionRoleGrant, policyJson, type SpokeGrantee } from '../lib/iam';

export interface ImageRegistryArgs {
  kmsKey: aws.kms.Key;
  /** Registered spokes: their task execution roles pull the image. */
  spokes: readonly SpokeGrantee[];
  partition: string;
  /** Build and push the runtime image here (opt-in). */
  build?: { config: NonNullable<HubConfig['imageBuild']>; context: string; dockerfile: string };
}

const PLATFORMS = { ARM64: dockerBuild.Platform.Linux_arm64, X86_64: dockerBuild.Platform.Linux_amd64 } as const;

export const RUNTIME_REPOSITORY = 'ai-gateway-runtime';

export class ImageRegistry extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;
  /** With `build`: the pushed image by digest, what spokes put in service.image. */
  readonly imageRef?: pulumi.Output<string>;

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
    // Untagged images only: a spoke may run any tagged version however many came after it, and
    // an expired one would fail its next task's pull (a scale-out or a replaced task).
    new aws.ecr.LifecyclePolicy(
      `${name}-runtime`,
      {
        repository: this.repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: 'untagged images after 14 days (tagged ones stay until deleted)',
              selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
              action: { type: 'expire' },
            },
          ],
        }),
      },
      parent,
    );
    if (args.build) this.imageRef = this.buildAndPush(name, args.build);
    this.registerOutputs({ repositoryUrl: this.repository.repositoryUrl, imageRef: this.imageRef });
  }

  private buildAndPush(name: string, build: NonNullable<ImageRegistryArgs['build']>): pulumi.Output<string> {
    const url = this.repository.repositoryUrl;
    const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, { parent: this });
    const image = new dockerBuild.Image(
      `${name}-runtime-image`,
      {
        context: { location: build.context },
        dockerfile: { location: build.dockerfile },
        platforms: [PLATFORMS[build.config.architecture]],
        push: true,
        tags: [pulumi.interpolate`${url}:${build.config.tag}`],
        registries: [{ address: url, username: auth.userName, password: pulumi.secret(auth.password) }],
      },
      { parent: this },
    );
    // By digest: what ran in the tests of this build, whatever the tag later points at.
    return pulumi.interpolate`${url}@${image.digest}`;
  }
}
