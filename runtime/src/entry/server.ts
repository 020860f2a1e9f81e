/** The Node HTTP server around the app: spoke container, local processes and tests. */
import { getRequestListener } from '@hono/node-server';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createApp } from '../app';
import type { Gateway } from '../gateway';
import { apiListener } from './api-listener';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops at once: connections and the requests on them are cut. */
  close(): Promise<void>;
  /**
   * Stops gracefully: /healthz answers 503, no new connections, every answer closes its
   * connection, and requests in flight may finish for `graceMs`; then as `close`.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** While draining, how often connections that went idle are closed. */
const IDLE_SWEEP_MS = 100;

/** Set on a connection past its age: its next answer closes it. */
const AGED = Symbol('aged');
type AgingSocket = Socket & { [AGED]?: true };

export async function startServer(gw: Gateway, port = gw.config.server.port, host = gw.config.server.host): Promise<RunningServer> {
  const app = createApp(gw);
  await gw.ready;
  const { connectionMaxAgeMs, shutdownGraceMs } = gw.config.server;
  // The API's POST routes straight to their handlers; everything else through the Hono app.
  const honoListener = getRequestListener(app.fetch);
  const api = apiListener(gw, (req, res) => void honoListener(req, res));
  // Keep-alive clients (a proxy's pool behind a load balancer) stay on one instance until the
  // connection closes: an aged connection and, while draining, every one is closed after its answer.
  const listener: RequestListener = (req, res) => {
    if ((req.socket as AgingSocket)[AGED] || gw.draining) res.setHeader('connection', 'close');
    api(req, res);
  };
  const server = createServer(listener);
  server.on('connection', (socket: AgingSocket) => {
    const timer = setTimeout(() => (socket[AGED] = true), connectionMaxAgeMs).unref();
    socket.once('close', () => clearTimeout(timer));
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.listen(port, host, () => {
      server.off('error', onError);
      const info = server.address() as AddressInfo;
      const url = `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
      let closed: Promise<void> | undefined;
      const close = () =>
        (closed ??= new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }).then(() => gw.close()));
      const shutdown = async (graceMs = shutdownGraceMs) => {
        gw.drain();
        // No new connections; idle ones close now, the others once their answer is out (they say so).
        const drained = new Promise<void>((done) => server.close(() => done()));
        // Answers begun before the drain said keep-alive: their connections close once idle.
        const idle = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((done) => (timer = setTimeout(done, graceMs)));
        await Promise.race([drained, grace]);
        clearTimeout(timer);
        clearInterval(idle);
        await close();
      };
      resolve({ url, port: info.port, close, shutdown });
    });
    server.once('error', onError);
  });
}
