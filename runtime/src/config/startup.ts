/**
 * What a process starts from, and where later versions of its config come from:
 * a file (GATEWAY_CONFIG / --config, watched), inline JSON (GATEWAY_CONFIG_JSON), or an
 * SSM parameter (GATEWAY_CONFIG_SSM_PARAMETER, polled; inline JSON is its bootstrap
 * copy when both are set). Also the shared-state cache's AUTH token, from the
 * environment (ECS secret) or Secrets Manager (Lambda).
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SecretsManagerResolver } from '../providers/secrets';
import { ConfigError, loadConfigFile, parseConfigText } from './load';
import type { GatewayConfig } from './schema';
import { FileConfigSource, SsmConfigSource, type ConfigSource } from './watch';

export interface Startup {
  config: GatewayConfig;
  /** Where new versions come from; none for inline JSON alone. */
  source?: ConfigSource;
  redisPassword?: string;
}

export async function loadStartup(env: NodeJS.ProcessEnv, path = env.GATEWAY_CONFIG): Promise<Startup> {
  const parameter = env.GATEWAY_CONFIG_SSM_PARAMETER;
  const pollSeconds = Number(env.GATEWAY_CONFIG_POLL_SECONDS ?? 30);
  if (!Number.isFinite(pollSeconds) || pollSeconds < 1) {
    throw new ConfigError(`GATEWAY_CONFIG_POLL_SECONDS must be a number of seconds >= 1, not "${env.GATEWAY_CONFIG_POLL_SECONDS}"`);
  }
  const pollMs = pollSeconds * 1000;
  let config: GatewayConfig;
  let source: ConfigSource | undefined;
  if (path) {
    config = loadConfigFile(path);
    source = new FileConfigSource(path);
  } else if (env.GATEWAY_CONFIG_JSON) {
    config = parseConfigText(env.GATEWAY_CONFIG_JSON, 'GATEWAY_CONFIG_JSON');
    if (parameter) source = new SsmConfigSource(parameter, pollMs);
  } else if (parameter) {
    const out = await new SSMClient({ maxAttempts: 3 }).send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
    if (out.Parameter?.Value === undefined) throw new ConfigError(`SSM parameter ${parameter} has no value`);
    config = parseConfigText(out.Parameter.Value, `ssm:${parameter}`);
    source = new SsmConfigSource(parameter, pollMs, undefined, out.Parameter.Version);
  } else {
    throw new ConfigError('no config: pass --config FILE or set GATEWAY_CONFIG, GATEWAY_CONFIG_JSON or GATEWAY_CONFIG_SSM_PARAMETER');
  }
  return { config, source, redisPassword: await redisPassword(env) };
}

async function redisPassword(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env.GATEWAY_REDIS_AUTH_TOKEN) return env.GATEWAY_REDIS_AUTH_TOKEN;
  const arn = env.GATEWAY_REDIS_AUTH_SECRET_ARN;
  if (!arn) return undefined;
  const secrets = new SecretsManagerResolver();
  try {
    return await secrets.get({ secretArn: arn });
  } finally {
    secrets.close();
  }
}
