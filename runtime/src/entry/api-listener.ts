/**
 * The Node server's API routes (POST): the same handlers as the Hono app's, called with
 * the server's own request and response, because a web Request, a Hono context, a
 * middleware chain and a web Response per request cost the hot path dearly
 * (bench/analysis.md, section 6). Every other route, and every method but POST, goes to the Hono app.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { requestIdOf, type ApiCall, type ApiReply, type ErrorRenderer } from '../api/call';
import { postRoutes } from '../api/routes';
import { errorReply } from '../api/errors';
import { answerByteLength } from '../core/answer-body';
import { isEncoded, requestTooLarge, unsupportedContentEncoding } from '../core/gateway-error';
import { clientClosed } from '../api/failure-response';
import type { Gateway } from '../gateway';

export function apiListener(gw: Gateway, other: RequestListener): RequestListener {
  const routes = postRoutes(gw);
  const maxBody = gw.config.server.maxBodyBytes;
  return (req, res) => {
    const handler = req.method === 'POST' ? routes.get(pathOf(req.url)) : undefined;
    if (!handler) return other(req, res);
    const requestId = requestIdOf(single(req.headers['x-request-id']), undefined);
    const fail = (err: unknown) => writeError(gw, res, requestId, err, handler.renderError);
    // A declared length decides at once, before the handler (as the Hono app's body limit does).
    if (declaredLength(req) > maxBody) return fail(requestTooLarge(maxBody));
    const encoding = single(req.headers['content-encoding']);
    if (isEncoded(encoding)) return fail(unsupportedContentEncoding(encoding));
    // A reply that cannot be written fails like any error: never an unhandled rejection.
    handler(new NodeCall(req, res, requestId, maxBody)).then((reply) => {
      try {
        writeReply(res, reply);
      } catch (err) {
        fail(err);
      }
    }, fail);
  };
}

/** One request as a handler reads it (a class: one object shape, its getter on the prototype). */
class NodeCall implements ApiCall {
  readonly env = undefined;
  private headerObject: Headers | undefined;

  constructor(
    private readonly req: IncomingMessage,
    readonly outgoing: ServerResponse,
    readonly requestId: string,
    private readonly maxBody: number,
  ) {}

  header(name: string): string | undefined {
    return single(this.req.headers[name]);
  }

  headers(): Headers {
    return (this.headerObject ??= toHeaders(this.req));
  }

  text(): Promise<string> {
    return readBody(this.req, this.maxBody, declaredLength(this.req));
  }

  /** The handler follows `outgoing`; a signal only for whoever asks for one all the same. */
  get signal(): AbortSignal {
    const left = new AbortController();
    this.outgoing.once('close', () => left.abort(clientClosed()));
    return left.signal;
  }
}

function writeReply(res: ServerResponse, reply: ApiReply): void {
  if (reply.kind === 'sent') return;
  // The handler writes streams to `outgoing` itself; a web stream here would be a bug.
  if (reply.kind === 'stream') throw new Error('an API handler returned a web stream on the Node server');
  const { headers, body } = reply;
  headers['content-length'] = String(answerByteLength(body));
  res.writeHead(reply.status, headers);
  if (typeof body === 'string') return void res.end(body);
  // An upstream's parts as they came, in one write (corked until end): never joined into a copy.
  res.cork();
  for (const part of body) res.write(part);
  res.end();
}

function writeError(gw: Gateway, res: ServerResponse, requestId: string, err: unknown, render: ErrorRenderer | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const logInternal = (e: unknown) => gw.logger.error({ requestId, err: e }, 'internal error');
  if (render) return writeReply(res, render(err, requestId, logInternal));
  const reply = errorReply(err, requestId, logInternal);
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...reply.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/**
 * The whole body as text, refused past `max` bytes (bodies without a declared length are
 * counted). Once a declared length has arrived the body is whole (the parser holds the
 * client to it): the handler goes on at once rather than a few ticks later at 'end'.
 */
function readBody(req: IncomingMessage, max: number, declared: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    const whole = () => {
      if (settled) return;
      settled = true;
      resolve(parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts).toString('utf8'));
    };
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > max) {
        settled = true;
        reject(requestTooLarge(max));
        req.removeAllListeners('data');
        req.resume(); // drained, not kept
        return;
      }
      parts.push(part);
      if (size === declared) whole();
    });
    req.once('end', whole);
    // The client went away mid-body: no one is left to answer.
    req.once('error', () => reject(clientClosed()));
  });
}

function declaredLength(req: IncomingMessage): number {
  const length = req.headers['content-length'];
  return length === undefined || req.headers['transfer-encoding'] !== undefined ? 0 : Number(length);
}

function pathOf(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function toHeaders(req: IncomingMessage): Headers {
  const h = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) h.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  return h;
}
