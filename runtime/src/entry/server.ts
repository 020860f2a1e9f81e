/** The Node HTTP server around the app: spoke container, local processes and tests. */
import { getRequestListener } from '@hono/node-server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../app';
import type { Gateway } from '../gateway';
import { apiListener } from './api-listener';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startServer(gw: Gateway, port = gw.config.server.port, host = gw.config.server.host): Promise<RunningServer> {
  const app = createApp(gw);
  await gw.ready;
  return new Promise((resolve, reject) => {
    // The API's POST routes straight to their handlers; everything else through the Hono app.
    const honoListener = getRequestListener(app.fetch);
    const server = createServer(apiListener(gw, (req, res) => void honoListener(req, res)));
    const onError = (err: Error) => reject(err);
    server.listen(port, host, () => {
      server.off('error', onError);
      const info = server.address() as AddressInfo;
      const url = `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
      resolve({
        url,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }).then(() => gw.close()),
      });
    });
    server.once('error', onError);
  });
}
