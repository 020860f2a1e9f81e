/**
 * The Hono app, built once from a gateway (config + role). Lambda, the Node server and
 * tests all serve this same app; entry points stay a few lines around it.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { ServerResponse } from 'node:http';
import { bodyLimit } from 'hono/body-limit';
import { requestIdOf, type ApiCall, type ApiReply, type ErrorRenderer, type TimeLeft } from './api/call';
import { errorReply } from './api/errors';
import { answerBodyInit } from './core/answer-body';
import { GatewayError, isEncoded, methodNotAllowed, requestTooLarge, unsupportedContentEncoding } from './core/gateway-error';
import { healthBody } from './api/healthz';
import { modelBody, modelsBody } from './api/models';
import { anthropicErrorReply } from './api/anthropic-errors';
import { postRoutes } from './api/routes';
import type { Gateway } from './gateway';
import { createStatusPage } from './status/page';
import { operatorAccess, sourceAddress } from './tenants/operator-access';

type Env = {
  Variables: { requestId: string };
  /** `timeLeft`: the Lambda entry's (lambda.ts), from the invocation's context. */
  Bindings: { requestContext?: { requestId?: string }; outgoing?: ServerResponse; timeLeft?: () => TimeLeft };
};

function errorResponse(c: Context, err: unknown, logInternal: (err: unknown) => void = () => undefined): Response {
  const reply = errorReply(err, c.get('requestId') as string, logInternal);
  return c.json(reply.body, reply.status, reply.headers);
}

/** An API request through Hono (Lambda, app.fetch; the Node server has its own, entry/api-listener.ts). */
class HonoCall implements ApiCall {
  constructor(private readonly c: Context<Env>) {}

  get requestId(): string {
    return this.c.get('requestId');
  }

  header(name: string): string | undefined {
    return this.c.req.header(name);
  }

  headers(): Headers {
    return this.c.req.raw.headers;
  }

  get env(): unknown {
    return this.c.env;
  }

  text(): Promise<string> {
    return this.c.req.text();
  }

  get outgoing(): ServerResponse | undefined {
    return this.c.env?.outgoing;
  }

  timeLeft(): TimeLeft | undefined {
    return this.c.env?.timeLeft?.();
  }

  /** Read only where there is no `outgoing`: on the Node server it would make a whole web Request. */
  get signal(): AbortSignal {
    return this.c.req.raw.signal;
  }
}

function honoReply(reply: ApiReply): Response {
  if (reply.kind === 'json') return new Response(answerBodyInit(reply.body), { status: reply.status, headers: reply.headers });
  if (reply.kind === 'stream') return reply.response;
  return RESPONSE_ALREADY_SENT;
}

/** The operator pages, all GET. */
const OPERATOR_PAGES = ['/metrics', '/status', '/status.json', '/status/events'];

export function createApp(gw: Gateway): Hono<Env> {
  const app = new Hono<Env>();
  const tenants = gw.tenants;
  const startedAt = gw.now();
  const routes = postRoutes(gw);

  app.use(async (c, next) => {
    const id = requestIdOf(c.req.header('x-request-id'), c.env);
    c.set('requestId', id);
    // API answers add it to their plain headers: a Headers object per answer costs.
    if (routes.has(c.req.path)) return next();
    await next();
    // Set on the answer itself: the status pages' handlers make their own Response.
    c.res.headers.set('x-request-id', id);
  });

  const maxBody = gw.config.server.maxBodyBytes;
  const logInternal = (c: Context) => (e: unknown) => gw.logger.error({ requestId: c.get('requestId'), err: e }, 'internal error');
  // With a Content-Length the header decides (the HTTP parser holds the body to it), and
  // the body is never touched here: Hono's own check would build a web Request stream
  // for it, for nothing.
  /** `err` in the route's own error shape (the OpenAI one unless it has its own). */
  const routeError = (c: Context, render: ErrorRenderer | undefined, err: unknown) =>
    render ? honoReply(render(err, c.get('requestId') as string, logInternal(c))) : errorResponse(c, err, logInternal(c));
  const limitFor = (render: ErrorRenderer | undefined): MiddlewareHandler => {
    const tooLarge = (c: Context) => routeError(c, render, requestTooLarge(maxBody));
    const streamedLimit = bodyLimit({ maxSize: maxBody, onError: tooLarge });
    return async (c, next) => {
      const encoding = c.req.header('content-encoding');
      if (isEncoded(encoding)) return routeError(c, render, unsupportedContentEncoding(encoding));
      const length = c.req.header('content-length');
      if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
        return Number(length) > maxBody ? tooLarge(c) : next();
      }
      return streamedLimit(c, next);
    };
  };
  for (const [path, handler] of routes) {
    const render = handler.renderError;
    const serve = render
      ? async (c: Context<Env>) => {
          try {
            return honoReply(await handler(new HonoCall(c)));
          } catch (err) {
            return honoReply(render(err, c.get('requestId'), logInternal(c)));
          }
        }
      : async (c: Context<Env>) => honoReply(await handler(new HonoCall(c)));
    app.post(path, limitFor(render), serve);
  }

  // An Anthropic client (it sends anthropic-version) gets Anthropic's shapes, its errors included.
  const anthropicClient = (c: Context) => c.req.header('anthropic-version') !== undefined;
  const modelsError = (c: Context, err: unknown) => routeError(c, anthropicClient(c) ? anthropicErrorReply : undefined, err);
  app.get('/v1/models', (c) => {
    try {
      const tenant = tenants.authenticate(c.req.raw.headers, c.env);
      return c.json(modelsBody(gw, startedAt, tenant, anthropicClient(c)));
    } catch (err) {
      return modelsError(c, err);
    }
  });
  // A model name may hold slashes (team/chat): the rest of the path is the name.
  app.get('/v1/models/:model{.+}', (c) => {
    try {
      const tenant = tenants.authenticate(c.req.raw.headers, c.env);
      return c.json(modelBody(gw, startedAt, tenant, c.req.param('model'), anthropicClient(c)));
    } catch (err) {
      return modelsError(c, err);
    }
  });

  app.get('/healthz', (c) => {
    const h = healthBody(gw);
    return c.json(h.body, h.status);
  });

  // Operator pages: with tenants (or operators) configured, operators only (tenants/operator-access.ts).
  const operatorsOnly: MiddlewareHandler<Env> = async (c, next) => {
    operatorAccess(gw.config).check(c.req.raw.headers, sourceAddress(c.env));
    await next();
  };
  for (const path of OPERATOR_PAGES) app.use(path, operatorsOnly);

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
    gw.events.flush(); // requests answered before the scrape are counted in it
    const health = healthBody(gw).body;
    return c.body(await metrics.scrape(health.routes, health.quota), 200, { 'content-type': metrics.contentType });
  });

  // A known path asked with another method: 405 with Allow, in the path's own error shape
  // (Hono serves HEAD as GET: a GET path answers it, a POST path refuses it here).
  for (const [path, handler] of routes) app.all(path, (c) => routeError(c, handler.renderError, methodNotAllowed(c.req.method, path, 'POST')));
  for (const path of ['/v1/models', '/v1/models/:model{.+}', '/healthz', ...OPERATOR_PAGES]) app.all(path, (c) => errorResponse(c, methodNotAllowed(c.req.method, c.req.path, 'GET')));

  app.notFound((c) => errorResponse(c, new GatewayError(404, 'not_found_error', `No route ${c.req.method} ${c.req.path}.`, 'unknown_url')));

  // Never echo internals: the request id lets an operator find the log line.
  app.onError((err, c) => errorResponse(c, err, logInternal(c)));

  return app;
}
