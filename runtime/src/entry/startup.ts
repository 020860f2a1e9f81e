/**
 * What a process starts from, and where later versions of its config come from:
 * a file (GATEWAY_CONFIG / --config, YAML or JSON, watched), inline JSON
 * (GATEWAY_CONFIG_JSON), or an SSM parameter (GATEWAY_CONFIG_SSM_PARAMETER, polled;
 * inline JSON is its bootstrap copy when both are set). The Lambda proxy starts from
 * startup-json.ts instead, which reads JSON only.
 */
import { FileConfigSource } from '../config/file-source';
import { parseConfigText } from '../config/load';
import { readConfigFile } from '../config/parse';
import { loadInlineOrSsm, redisPassword, type Startup } from './startup-json';

export type { Startup } from './startup-json';

export async function loadStartup(env: NodeJS.ProcessEnv, path = env.GATEWAY_CONFIG): Promise<Startup> {
  if (!path) return loadInlineOrSsm(env, parseConfigText);
  const text = readConfigFile(path);
  const config = parseConfigText(text, path);
  return { config, source: new FileConfigSource(path, parseConfigText, { loaded: text }), redisPassword: await redisPassword(env) };
}
