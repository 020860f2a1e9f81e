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
