/** The Node HTTP server around the app: spoke container, local processes and tests. */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from '../app';
import type { Gateway } from '../gateway';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startServer(gw: Gateway, port = gw.config.server.port, host = gw.config.server.host): Promise<RunningServer> {
  const app = createApp(gw);
  await gw.ready;
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (err: Error) => reject(err);
    server = serve({ fetch: app.fetch, port, hostname: host }, (info: AddressInfo) => {
      server.off('error', onError);
      const url = `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
      resolve({
        url,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const s = server as import('node:http').Server;
            s.close(() => done());
            s.closeAllConnections?.();
          }).then(() => gw.close()),
      });
    });
    server.once('error', onError);
  });
}
