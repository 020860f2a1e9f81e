/**
 * The Hono app, built once from a gateway (config + role). Lambda, the Node server and
 * tests all serve this same app; entry points stay a few lines around it.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { randomUUID } from 'node:crypto';
import { chatCompletionsHandler } from './api/chat-completions';
import { GatewayError } from './api/errors';
import { healthBody } from './api/healthz';
import { modelsBody } from './api/models';
import type { Gateway } from './gateway';
import { createStatusPage } from './observability/status-page';

type Env = { Variables: { requestId: string }; Bindings: { requestContext?: { requestId?: string } } };

/** The chat routes, whose answers carry x-request-id in their own plain headers. */
const CHAT_PATHS = new Set(['/v1/chat/completions', '/inference']);

function errorResponse(c: Context, err: GatewayError): Response {
  return c.json(err.toJSON(), err.status, { ...err.headers, 'x-request-id': c.get('requestId') as string });
}

/** The client's own request id when it is sane (as Hono's request-id middleware checks), else ours. */
function requestIdOf(c: Context<Env>): string {
  const given = c.req.header('x-request-id');
  if (given && given.length <= 255 && !/[^\w\-=]/.test(given)) return given;
  // Behind API Gateway, its request id ties our logs to its access logs.
  return c.env?.requestContext?.requestId ?? randomUUID();
}

export function createApp(gw: Gateway): Hono<Env> {
  const app = new Hono<Env>();
  const tenants = gw.tenants;
  const startedAt = gw.now();

  app.use((c, next) => {
    const id = requestIdOf(c);
    c.set('requestId', id);
    // Chat answers add it to their plain headers: c.header() makes a Headers object per answer.
    if (!CHAT_PATHS.has(c.req.path)) c.header('x-request-id', id);
    return next();
  });

  const maxBody = gw.config.server.maxBodyBytes;
  const tooLarge = (c: Context) =>
    errorResponse(c, new GatewayError(413, 'invalid_request_error', `The request body is larger than ${maxBody} bytes.`, 'request_too_large'));
  const streamedLimit = bodyLimit({ maxSize: maxBody, onError: tooLarge });
  // With a Content-Length the header decides (the HTTP parser holds the body to it), and
  // the body is never touched here: Hono's own check would build a web Request stream
  // for it, which the profile showed costs more than the rest of the middleware chain.
  const limit: MiddlewareHandler = async (c, next) => {
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(length) > maxBody ? tooLarge(c) : next();
    }
    return streamedLimit(c, next);
  };
  const chat = chatCompletionsHandler(gw, tenants);
  app.post('/v1/chat/completions', limit, chat);
  app.post('/inference', limit, chat);

  app.get('/v1/models', (c) => {
    tenants.authenticate(c.req.raw.headers, c.env);
    return c.json(modelsBody(gw, startedAt));
  });

  app.get('/healthz', (c) => {
    const h = healthBody(gw);
    return c.json(h.body, h.status);
  });

  const status = createStatusPage(gw);
  app.get('/status', () => status.page());
  app.get('/status.json', () => status.json());
  app.get('/status/events', (c) => status.events(c.req.raw.signal));

  // Prometheus text; route state and quota headroom as /healthz sees them now.
  app.get('/metrics', async (c) => {
    const metrics = gw.metrics;
    if (!metrics) {
      const why = 'Prometheus metrics are not served here (the Lambda proxy writes CloudWatch EMF lines instead).';
      return errorResponse(c, new GatewayError(404, 'not_found_error', why, 'metrics_not_served'));
    }
    return c.body(await metrics.scrape(healthBody(gw).body.routes), 200, { 'content-type': metrics.contentType });
  });

  app.notFound((c) =>
    errorResponse(c, new GatewayError(404, 'not_found_error', `No route ${c.req.method} ${c.req.path}.`, 'unknown_url')),
  );

  app.onError((err, c) => {
    if (err instanceof GatewayError) return errorResponse(c, err);
    // Never echo internals: the request id lets an operator find the log line.
    gw.logger.error({ requestId: c.get('requestId'), err }, 'internal error');
    return errorResponse(c, new GatewayError(500, 'api_error', `Internal gateway error (request ${c.get('requestId')}).`, 'internal_error'));
  });

  return app;
}
