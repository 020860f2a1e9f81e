/**
 * `ai-gateway --config FILE [--role all-in-one|proxy|spoke] [--port N]`: one process
 * serving one config. Environment: GATEWAY_CONFIG, GATEWAY_ROLE, PORT.
 * `ai-gateway key create|hash`: tenant keys for the config (tenants/key-command.ts).
 */
import { parseArgs } from 'node:util';
import { startHotReload } from './hot-reload';
import { ConfigError } from '../config/load';
import { loadStartup } from './startup';
import { ROLES, type Role } from '../config/schema';
import { createGateway } from '../gateway';
import { createUndiciHttp } from '../providers/undici-http';
import { KEY_USAGE, runKeyCommand } from '../tenants/key-command';
import { startServer } from './server';
import { messagesChecks } from '../api/messages-fast-check';
import { validAsSent } from '../api/request-fast-check';
import { compileOutputSchema } from '../api/strict-schema';

const USAGE = `usage: ai-gateway --config FILE [--role all-in-one|proxy|spoke] [--port N] [--host ADDR]
environment: GATEWAY_CONFIG (or GATEWAY_CONFIG_JSON, GATEWAY_CONFIG_SSM_PARAMETER), GATEWAY_ROLE, PORT, HOST
${KEY_USAGE}`;

export class UsageError extends Error {}

/** `--help`: the usage is the answer asked for (stdout, exit 0), not an error. */
class HelpAsked extends Error {}

export interface CliOptions {
  configPath?: string;
  role: Role;
  port?: number;
  host?: string;
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      role: { type: 'string', short: 'r' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) throw new HelpAsked(USAGE);
  const role = (values.role ?? env.GATEWAY_ROLE ?? 'all-in-one') as Role;
  if (!ROLES.includes(role)) throw new UsageError(`unknown role "${role}"; expected one of ${ROLES.join(', ')}\n${USAGE}`);
  const portText = values.port ?? env.PORT;
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid port "${portText}"\n${USAGE}`);
  }
  return { configPath: values.config ?? env.GATEWAY_CONFIG, role, port, host: values.host ?? env.HOST };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (argv[0] === 'key') {
    process.exitCode = runKeyCommand(argv.slice(1));
    return;
  }
  let opts: CliOptions;
  try {
    opts = parseCli(argv, env);
    const { config, source, redisPassword } = await loadStartup(env, opts.configPath);
    const gw = createGateway(config, opts.role, { redisPassword, http: createUndiciHttp(), requestCheck: validAsSent, messagesChecks, outputSchemas: compileOutputSchema });
    const server = await startServer(gw, opts.port, opts.host);
    // New versions of the config apply without a restart; invalid ones are rejected and logged.
    const reloader = source && startHotReload(gw, source);
    const open = config.tenants.length === 0 ? ' (open: no tenants configured, any key or none is accepted)' : '';
    console.log(`ai-gateway ${opts.role} listening on ${server.url}${open}${source ? `; config reloads from ${source.name}` : ''}`);
    // The first signal drains (requests in flight finish, within server.shutdownGraceMs); a second stops at once.
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      reloader?.stop();
      const now = stopping;
      stopping = true;
      if (!now) console.log(`ai-gateway: ${signal}: draining (up to ${config.server.shutdownGraceMs} ms for requests in flight; send it again to stop at once)`);
      (now ? server.close() : server.shutdown()).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  } catch (err) {
    if (err instanceof HelpAsked) {
      console.log(err.message);
      return;
    }
    if (err instanceof ConfigError || err instanceof UsageError) {
      console.error(err.message);
    } else {
      console.error(`ai-gateway: ${(err as Error)?.message ?? String(err)}`);
    }
    process.exitCode = 2;
  }
}
