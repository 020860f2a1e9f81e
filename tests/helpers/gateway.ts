/** Starts a real gateway (config + role) on 127.0.0.1:0 for a test, with an OpenAI SDK client. */
import OpenAI from 'openai';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput, Role } from '../../runtime/src/config/schema';
import { startServer, type RunningServer } from '../../runtime/src/entry/server';
import { createGateway, type Gateway, type GatewayOptions } from '../../runtime/src/gateway';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { messagesChecks } from '../../runtime/src/api/messages-fast-check';
import { validAsSent } from '../../runtime/src/api/request-fast-check';
import { compileOutputSchema } from '../../runtime/src/api/strict-schema';
import type { healthBody } from '../../runtime/src/api/healthz';

export interface TestGateway extends RunningServer {
  client: OpenAI;
  /** The gateway's services, to read or steer routing state in a test. */
  gateway: Gateway;
}

/** Gateway options for a test: the HTTP client defaults to the Node server's (undici). */
export type TestGatewayOptions = Omit<GatewayOptions, 'http'> & Partial<Pick<GatewayOptions, 'http'>>;

export async function startGateway(doc: GatewayConfigInput, role: Role = 'all-in-one', opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const config = parseConfig(doc);
  // Request logs would drown the test output; tests that read logs pass their own destination.
  const gateway = createGateway(config, role, {
    observability: { destination: { write: () => true } },
    http: createUndiciHttp(),
    requestCheck: validAsSent,
    messagesChecks,
    outputSchemas: compileOutputSchema,
    ...opts,
  });
  const server = await startServer(gateway, 0, '127.0.0.1');
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'test-key', maxRetries: 0, timeout: 20_000 });
  return { ...server, client, gateway };
}

/** A one-provider simulated config: fast, seeded, deterministic. */
export function simulatedConfig(overrides: Partial<Record<string, unknown>> = {}): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'sim',
        type: 'simulated',
        accounts: [{ id: 'acct-1', endpoints: [{ region: 'local', latencyMs: 1, tokensPerSecond: 5000, seed: 7, ...overrides }] }],
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'sim-model' }] }],
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The OpenAI error shape every gateway error answer has. */
export interface ErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** What GET /healthz answers. */
export type HealthBody = ReturnType<typeof healthBody>['body'];

/** A response's JSON body, as the type the test reads it as (its assertions check it). */
export async function jsonOf<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** GET /healthz of the gateway at `url`. */
export async function healthOf(url: string): Promise<HealthBody> {
  return jsonOf<HealthBody>(await fetch(`${url}/healthz`));
}
