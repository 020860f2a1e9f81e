/**
 * What the Lambda proxy starts from, in JSON only (its bundle carries no YAML parser):
 * a file at GATEWAY_CONFIG (watched), else GATEWAY_CONFIG_JSON (the bootstrap copy),
 * else the SSM parameter GATEWAY_CONFIG_SSM_PARAMETER (polled for new versions either way). Also the shared-state cache's AUTH token, from the environment (ECS
 * secret) or Secrets Manager (Lambda). entry/startup.ts is the same with YAML files.
 */
import { ConfigError, parseConfigJson, readConfigFile, type ConfigTextParser } from '../config/parse';
import type { GatewayConfig } from '../config/schema';
import { FileConfigSource } from '../config/file-source';
import { getParameter, ssm, SsmConfigSource, type ConfigSource } from '../config/watch';

export interface Startup {
  config: GatewayConfig;
  /** Where new versions come from; none for inline JSON alone. */
  source?: ConfigSource;
  redisPassword?: string;
}

const SSM_START_TIMEOUT_MS = 10_000;

/** Lambda: a JSON file (watched), else inline JSON or the SSM parameter. */
export async function loadJsonStartup(env: NodeJS.ProcessEnv): Promise<Startup> {
  const path = env.GATEWAY_CONFIG;
  if (!path) return loadInlineOrSsm(env, parseConfigJson);
  const text = readConfigFile(path);
  const config = parseConfigJson(text, path);
  return { config, source: new FileConfigSource(path, parseConfigJson, { loaded: text }), redisPassword: await redisPassword(env) };
}

/** GATEWAY_CONFIG_JSON or the SSM parameter, read with `parse`. */
export async function loadInlineOrSsm(env: NodeJS.ProcessEnv, parse: ConfigTextParser): Promise<Startup> {
  const parameter = env.GATEWAY_CONFIG_SSM_PARAMETER;
  const pollSeconds = Number(env.GATEWAY_CONFIG_POLL_SECONDS ?? 30);
  if (!Number.isFinite(pollSeconds) || pollSeconds < 1) {
    throw new ConfigError(`GATEWAY_CONFIG_POLL_SECONDS must be a number of seconds >= 1, not "${env.GATEWAY_CONFIG_POLL_SECONDS}"`);
  }
  const pollMs = pollSeconds * 1000;
  let config: GatewayConfig;
  let source: ConfigSource | undefined;
  if (env.GATEWAY_CONFIG_JSON) {
    config = parse(env.GATEWAY_CONFIG_JSON, 'GATEWAY_CONFIG_JSON');
    // Written by the same deploy as the parameter: its first poll can wait one interval.
    if (parameter) source = new SsmConfigSource(parameter, pollMs, undefined, undefined, parse, false);
  } else if (parameter) {
    // Within the invocation that waits for it: a named 503 in seconds, not the function's timeout.
    const out = await getParameter(new (ssm().SSMClient)({ maxAttempts: 3 }), parameter, SSM_START_TIMEOUT_MS);
    if (out.Parameter?.Value === undefined) throw new ConfigError(`SSM parameter ${parameter} has no value`);
    config = parse(out.Parameter.Value, `ssm:${parameter}`);
    source = new SsmConfigSource(parameter, pollMs, undefined, out.Parameter.Version, parse);
  } else {
    throw new ConfigError('no config: pass --config FILE or set GATEWAY_CONFIG, GATEWAY_CONFIG_JSON or GATEWAY_CONFIG_SSM_PARAMETER');
  }
  return { config, source, redisPassword: await redisPassword(env) };
}

export async function redisPassword(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env.GATEWAY_REDIS_AUTH_TOKEN) return env.GATEWAY_REDIS_AUTH_TOKEN;
  const arn = env.GATEWAY_REDIS_AUTH_SECRET_ARN;
  if (!arn) return undefined;
  const secrets = new (require('../providers/secrets') as typeof import('../providers/secrets')).SecretsManagerResolver();
  try {
    return await secrets.get({ secretArn: arn });
  } finally {
    secrets.close();
  }
}
