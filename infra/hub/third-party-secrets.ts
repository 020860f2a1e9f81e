/**
 * Secrets Manager secrets for third-party API keys, encrypted with the hub key and
 * readable by the spoke accounts (which also need the key, see lib/encryption-key).
 * A value is written only when the stack has it as a secret config value; otherwise the
 * secret is created empty and an operator fills it (`aws secretsmanager put-secret-value`).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { executionRoleGrant, policyJson, type SpokeGrantee } from '../lib/iam';

export interface ThirdPartySecretsArgs {
  names: string[];
  /** Values from `pulumi config set --secret <name>ApiKey`; absent names stay empty. */
  apiKeys: Record<string, pulumi.Output<string>>;
  kmsKey: aws.kms.Key;
  /** Registered spokes: the task execution roles of third-party spokes may read the keys. */
  spokes: readonly SpokeGrantee[];
  partition: string;
}

export function thirdPartySecretName(vendor: string): string {
  return `ai-gateway/third-party/${vendor}`;
}

export class ThirdPartySecrets extends pulumi.ComponentResource {
  readonly arns: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: ThirdPartySecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:ThirdPartySecrets', name, {}, opts);
    const parent = { parent: this };
    for (const vendor of args.names) {
      const secret = new aws.secretsmanager.Secret(
        `${name}-${vendor}`,
        { name: thirdPartySecretName(vendor), description: `API key for ${vendor}, read by third-party spokes`, kmsKeyId: args.kmsKey.arn, recoveryWindowInDays: 7 },
        parent,
      );
      const readers = executionRoleGrant(
        args.spokes.filter((spoke) => spoke.kind === 'third-party'),
        args.partition,
        { Sid: 'ThirdPartySpokesRead', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
      );
      if (readers.length > 0) new aws.secretsmanager.SecretPolicy(`${name}-${vendor}`, { secretArn: secret.arn, blockPublicPolicy: true, policy: policyJson(readers) }, parent);
      const value = args.apiKeys[vendor];
      if (value) new aws.secretsmanager.SecretVersion(`${name}-${vendor}`, { secretId: secret.id, secretString: pulumi.secret(value) }, parent);
      this.arns[vendor] = secret.arn;
    }
    this.registerOutputs({ arns: this.arns });
  }
}
