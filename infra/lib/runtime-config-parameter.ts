/**
 * The runtime config of one stack in SSM Parameter Store, where the runtime polls it for
 * hot reload: a SecureString under the stack's KMS key, Standard tier up to 4 KB and
 * Advanced (8 KB) past that. Its readers get `ssm:GetParameter` on this parameter alone
 * and `kms:Decrypt` only through SSM and only for this parameter's encryption context.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { configSchema, type GatewayConfigInput } from '../../runtime/src/config/schema';
import type { PolicyStatement } from './iam';

export const STANDARD_PARAMETER_BYTES = 4096;
export const ADVANCED_PARAMETER_BYTES = 8192;

export type ParameterTier = 'Standard' | 'Advanced';

export function runtimeConfigParameterName(stack: string): string {
  return `/ai-gateway/${stack}/runtime-config`;
}

/** The cheapest tier that holds `value`; past 8 KB no parameter does. */
export function parameterTier(value: string, what = 'the runtime config'): ParameterTier {
  const bytes = Buffer.byteLength(value);
  if (bytes > ADVANCED_PARAMETER_BYTES) {
    throw new Error(`${what} is ${bytes} bytes; an SSM parameter holds at most ${ADVANCED_PARAMETER_BYTES} (Advanced tier)`);
  }
  return bytes > STANDARD_PARAMETER_BYTES ? 'Advanced' : 'Standard';
}

/** The config as the runtime will load it: validated by the runtime's own schema first. */
export function validatedConfigJson(doc: GatewayConfigInput, what: string): string {
  const result = configSchema.safeParse(doc);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new Error(`${what}: the runtime would reject the rendered config:\n${issues}`);
  }
  return JSON.stringify(doc);
}

export interface RuntimeConfigParameterArgs {
  stack: string;
  /** The rendered, validated runtime config JSON. */
  configJson: pulumi.Input<string>;
  kmsKeyArn: pulumi.Input<string>;
  region: string;
}

export class RuntimeConfigParameter extends pulumi.ComponentResource {
  readonly parameter: aws.ssm.Parameter;
  readonly name: string;
  private readonly kmsKeyArn: pulumi.Input<string>;
  private readonly region: string;

  constructor(name: string, args: RuntimeConfigParameterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:lib:RuntimeConfigParameter', name, {}, opts);
    this.name = runtimeConfigParameterName(args.stack);
    this.kmsKeyArn = args.kmsKeyArn;
    this.region = args.region;
    this.parameter = new aws.ssm.Parameter(
      `${name}-parameter`,
      {
        name: this.name,
        description: `ai-gateway ${args.stack} runtime config (polled by the runtime; see docs/infra.md)`,
        type: 'SecureString',
        keyId: args.kmsKeyArn,
        dataType: 'text',
        tier: pulumi.output(args.configJson).apply((json) => parameterTier(json)),
        value: args.configJson,
      },
      // A fixed name that tasks and the Lambda poll: a replacement must free it first.
      { parent: this, deleteBeforeReplace: true },
    );
    this.registerOutputs({ name: this.name, arn: this.parameter.arn });
  }

  /** Decrypting the value: through SSM, for this parameter only. */
  private decryptStatement(sid: string): PolicyStatement {
    return {
      Sid: sid,
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: this.kmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': `ssm.${this.region}.amazonaws.com`, 'kms:EncryptionContext:PARAMETER_ARN': this.parameter.arn } },
    };
  }

  /** What the runtime needs to poll the parameter. */
  readStatements(): PolicyStatement[] {
    return [{ Sid: 'ReadRuntimeConfig', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: this.parameter.arn }, this.decryptStatement('DecryptRuntimeConfig')];
  }

  /** What ECS needs to fill an environment variable from the parameter at task start. */
  injectStatements(): PolicyStatement[] {
    return [{ Sid: 'InjectRuntimeConfig', Effect: 'Allow', Action: 'ssm:GetParameters', Resource: this.parameter.arn }, this.decryptStatement('DecryptInjectedRuntimeConfig')];
  }
}
