/**
 * The Lambda proxy: API Gateway REST proxy events into the same Hono app. Streams the
 * response where the runtime offers response streaming (`awslambda` global), else
 * buffers. Config, JSON only (the bundle has no YAML parser): GATEWAY_CONFIG_JSON
 * (bootstrap) and GATEWAY_CONFIG_SSM_PARAMETER (polled for new versions), or a file at
 * GATEWAY_CONFIG; role from GATEWAY_ROLE, `proxy` by default.
 */
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { requestIdOf } from './api/call';
import { createApp } from './app';
import { cancelledWithInvocation, settlingStreamHandle } from './entry/lambda-stream';
import { startHotReload } from './entry/hot-reload';
import { ROLES, type Role } from './config/schema';
import { loadJsonStartup } from './entry/startup-json';
import { createGateway } from './gateway';
import { createNodeHttp } from './providers/node-http';

const role = (process.env.GATEWAY_ROLE ?? 'proxy') as Role;
if (!ROLES.includes(role)) throw new Error(`GATEWAY_ROLE "${role}" is not one of ${ROLES.join(', ')}`);

// Built once per execution environment (cold start) and reused by every invocation.
// Async because the config or the cache token may come from SSM / Secrets Manager; a
// failed start (an SSM hiccup) is retried by the next invocation, not kept for good.
type GatewayApp = ReturnType<typeof createApp>;
let started: Promise<GatewayApp> | undefined;
function gatewayApp(): Promise<GatewayApp> {
  started ??= loadJsonStartup(process.env).then(({ config, source, redisPassword }) => {
    // Node's own http: the bundle carries no HTTP client of its own.
    // No Prometheus: no one scrapes a Lambda instance; its metrics are the EMF lines.
    const gw = createGateway(config, role, { redisPassword, http: createNodeHttp(), observability: { prometheus: false } });
    // Timers sleep while the environment is frozen and fire on the next invocation.
    if (source) startHotReload(gw, source);
    return createApp(gw);
  });
  started.catch(() => (started = undefined));
  return started;
}

const app = new Hono();
app.all('*', async (c) => {
  let gateway: GatewayApp;
  try {
    gateway = await gatewayApp();
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', msg: 'gateway start failed', err: (err as Error).message }));
    const body = { error: { message: 'The gateway is starting and could not load its configuration; retry shortly.', type: 'api_error', code: 'gateway_unavailable', param: null } };
    // Every answer carries x-request-id: the client's, else API Gateway's, as the gateway's own answers.
    return c.json(body, 503, { 'retry-after': '1', 'x-request-id': requestIdOf(c.req.header('x-request-id'), c.env) });
  }
  const env = c.env as LambdaBindings;
  return cancelledWithInvocation(await gateway.fetch(c.req.raw, withTimeLeft(env)), env.context);
});

/** What hono/aws-lambda binds: the invocation's context as `lambdaContext` (buffered) or `context` (streamed). */
type LambdaBindings = Parameters<GatewayApp['fetch']>[1] & { lambdaContext?: Partial<Context>; context?: Partial<Context> };
type Context = { getRemainingTimeInMillis(): number };

/**
 * Lambda kills the function at its timeout, and API Gateway then answers with an error of
 * its own: the request's deadline stops this much earlier, for its 504, log line and EMF.
 */
const ANSWER_MARGIN_MS = 1_000;
const TIMED_OUT = 'the time left before the Lambda function times out';

function withTimeLeft(env: LambdaBindings): LambdaBindings {
  const context = env.lambdaContext ?? env.context;
  if (typeof context?.getRemainingTimeInMillis !== 'function') return env;
  const remaining = context.getRemainingTimeInMillis.bind(context);
  return { ...env, timeLeft: () => ({ ms: remaining() - ANSWER_MARGIN_MS, why: TIMED_OUT }) };
}

/**
 * The Lambda runtime's streaming API; the AWS SDK also creates `awslambda`, so test the function.
 * On nodejs24.x the handler must be async or streamified (callback-style handlers are gone),
 * and the environment freezes as soon as it settles, whatever is still pending: both handlers
 * below settle only after the whole answer is written, and in Lambda the request's log line
 * and EMF metrics are written synchronously before that (observability/settings.ts).
 */
const runtime = (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda;
const streamify = runtime?.streamifyResponse;
const canStream = typeof streamify === 'function' && process.env.GATEWAY_LAMBDA_STREAMING !== 'false';

export const handler = canStream ? settlingStreamHandle(app, streamify as Parameters<typeof settlingStreamHandle>[1]) : handle(app);
