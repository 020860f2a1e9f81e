/** Reads the config file (YAML or JSON), validates it and names the key path of any error. */
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, readConfigFile, type ConfigTextParser } from './parse';
import type { GatewayConfig } from './schema';

export { ConfigError, formatIssuePath, formatIssues, parseConfig, parseConfigJson } from './parse';

export const parseConfigText: ConfigTextParser = (text, source = '(inline)') => {
  let doc: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(`invalid config ${source}: not YAML or JSON: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) throw new ConfigError(`invalid config ${source}: the file is empty`);
  return parseConfig(doc, source);
};

export function loadConfigFile(path: string): GatewayConfig {
  return parseConfigText(readConfigFile(path), path);
}

/** The config for a process: GATEWAY_CONFIG_JSON (inline, as Lambda gets it) or a file path. */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv, path = env.GATEWAY_CONFIG): GatewayConfig {
  if (path) return loadConfigFile(path);
  if (env.GATEWAY_CONFIG_JSON) return parseConfigText(env.GATEWAY_CONFIG_JSON, 'GATEWAY_CONFIG_JSON');
  throw new ConfigError('no config: pass --config FILE or set GATEWAY_CONFIG (or GATEWAY_CONFIG_JSON)');
}
