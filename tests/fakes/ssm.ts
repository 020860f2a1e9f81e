/**
 * A fake SSM endpoint (GetParameter, AWS JSON 1.1, SigV4-signed requests only) serving one
 * parameter, whose value and version a test changes; any other name, or no value, is ParameterNotFound.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSsm {
  /** The real SSM client pointed at the fake. */
  client: SSMClient;
  /** The endpoint, for AWS_ENDPOINT_URL_SSM (a client the gateway makes itself). */
  url: string;
  /** Each request's X-Amz-Target. */
  calls: string[];
  close: () => Promise<void>;
}

/** The parameter the fake serves; a test changes it in place. */
export interface FakeParameter {
  name: string;
  version: number;
  /** Absent: ParameterNotFound, as for a parameter never written. */
  value?: string;
  delayMs?: number;
}

/** A fake SSM endpoint serving `parameter` (changeable), and the real SSM client pointed at it. */
export async function startFakeSsm(parameter: FakeParameter): Promise<FakeSsm> {
  const calls: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const fake: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push(String(req.headers['x-amz-target']));
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(req.headers.authorization, body, res);
      }, parameter.delayMs ?? 0);
      timers.add(timer);
    });
  });
  const answer = (authorization: string | undefined, body: string, res: ServerResponse) => {
    const auth = String(authorization ?? '');
    if (!auth.includes('/ssm/aws4_request')) {
      res.writeHead(403, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'AccessDeniedException', message: 'unsigned' }));
      return;
    }
    const { Name } = JSON.parse(body) as { Name: string };
    if (Name !== parameter.name || parameter.value === undefined) {
      // As SSM answers it: no message, so the error names no parameter.
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'ParameterNotFound' }));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      .end(JSON.stringify({ Parameter: { Name, Type: 'SecureString', Value: parameter.value, Version: parameter.version, DataType: 'text' } }));
  };
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  const endpoint = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  const client = new SSMClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' },
  });
  return {
    client,
    url: endpoint,
    calls,
    close: () => {
      timers.forEach(clearTimeout);
      fake.closeAllConnections();
      return new Promise<void>((r) => fake.close(() => r()));
    },
  };
}
