/**
 * The Lambda proxy: API Gateway REST proxy events into the same Hono app. Streams the
 * response where the runtime offers response streaming (`awslambda` global), else
 * buffers. Config: GATEWAY_CONFIG_JSON (bootstrap) and GATEWAY_CONFIG_SSM_PARAMETER
 * (polled for new versions), or GATEWAY_CONFIG; role from GATEWAY_ROLE, `proxy` by default.
 */
import { Hono } from 'hono';
import { handle, streamHandle } from 'hono/aws-lambda';
import { createApp } from './app';
import { startHotReload } from './config/hot-reload';
import { ROLES, type Role } from './config/schema';
import { loadStartup } from './config/startup';
import { createGateway } from './gateway';

const role = (process.env.GATEWAY_ROLE ?? 'proxy') as Role;
if (!ROLES.includes(role)) throw new Error(`GATEWAY_ROLE "${role}" is not one of ${ROLES.join(', ')}`);

// Built once per execution environment (cold start) and reused by every invocation.
// Async because the config or the cache token may come from SSM / Secrets Manager.
const gateway = loadStartup(process.env).then(({ config, source, redisPassword }) => {
  const gw = createGateway(config, role, { redisPassword });
  // Timers sleep while the environment is frozen and fire on the next invocation.
  if (source) startHotReload(gw, source);
  return createApp(gw);
});
// A failed start must fail invocations, not crash the runtime with an unhandled rejection.
gateway.catch(() => undefined);

const app = new Hono();
app.all('*', async (c) => (await gateway).fetch(c.req.raw, c.env as Parameters<Awaited<typeof gateway>['fetch']>[1]));

/** The Lambda runtime's streaming API; the AWS SDK also creates `awslambda`, so test the function. */
const runtime = (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda;
const canStream = typeof runtime?.streamifyResponse === 'function' && process.env.GATEWAY_LAMBDA_STREAMING !== 'false';

export const handler = canStream ? streamHandle(app) : handle(app);
