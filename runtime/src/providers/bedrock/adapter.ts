/**
 * Amazon Bedrock through Converse and ConverseStream with the AWS SDK v3. One client per
 * (account, region, endpoint url), created on first use and kept; the router owns
 * retries and timeouts, so the SDK makes exactly one attempt and waits as told.
 */
import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type BedrockRuntimeClientConfig,
  type ConverseStreamOutput,
  type CountTokensCommand,
  type InvokeModelCommand,
  type InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ChatRequest } from '../../core/chat-request';
import type { ChatCompletionChunk } from '../../core/openai-types';
import type { ProviderConfig } from '../../config/schema';
import { ProviderError } from '../errors';
import { bedrockHasNativeOutput, structuredPlan } from '../structured/plan';
import { unwrapChunks, unwrapCompletion } from '../structured/unwrap';
import { ConverseStreamTranslator, fromConverseResponse, isBedrockClaude, streamExceptionOf, toConverseRequest, type CompletionMeta } from '../translate/openai-bedrock';
import type { MessagesCapable } from '../messages-types';
import type { CallOptions, CompletionResult, ProviderAdapter, Route, StreamResult } from '../types';
import { classifyBedrockError } from './classify';
import { createBedrockClaudeMessages } from './claude-messages';
import { createBedrockEmbeddings } from './embeddings';

export interface BedrockAdapterDeps {
  /** Replaces the keep-alive HTTP/1.1 handler (shared by every client when given). */
  requestHandler?: BedrockRuntimeClientConfig['requestHandler'];
  /** Replaces the AWS default credential chain (tests: fake static keys). */
  credentials?: BedrockRuntimeClientConfig['credentials'];
  connectTimeoutMs?: number;
}

export interface BedrockAdapter extends ProviderAdapter, MessagesCapable {
  /** SDK clients created so far: one per (account, region, endpoint url, connect timeout). */
  clientCount(): number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function createBedrockAdapter(provider: ProviderConfig, deps: BedrockAdapterDeps = {}): BedrockAdapter {
  const clients = new Map<string, BedrockRuntimeClient>();

  const clientFor = (route: Route, opts: CallOptions): BedrockRuntimeClient => {
    // The connect timeout lives in the client's HTTP handler: one client per timeout in use.
    const connectMs = opts.connectTimeoutMs ?? deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const key = `${route.account.id}\n${route.endpoint.region}\n${route.endpoint.url ?? ''}\n${connectMs}`;
    let client = clients.get(key);
    if (!client) {
      client = new BedrockRuntimeClient({
        region: route.endpoint.region,
        ...(route.endpoint.url ? { endpoint: route.endpoint.url } : {}),
        ...(deps.credentials ? { credentials: deps.credentials } : {}),
        // Retries belong to the router (other routes first, budgets, deadlines).
        maxAttempts: 1,
        // HTTP/1.1 with keep-alive: works with real Bedrock and with plain-http fakes.
        requestHandler: deps.requestHandler ?? defaultRequestHandler(connectMs),
      });
      addHeaders(client, provider.headers, 'gatewayProviderHeaders');
      clients.set(key, client);
    }
    return client;
  };

  const addForwardHeaders = (command: MiddlewareTarget, headers: Readonly<Record<string, string>> | undefined) => addHeaders(command, headers, 'gatewayForwardHeaders');
  return {
    clientCount: () => clients.size,
    // Claude routes take the Messages API natively (InvokeModel), on the same clients.
    messages: createBedrockClaudeMessages({ clientFor, addForwardHeaders }),

    embeddings: createBedrockEmbeddings({ clientFor, addForwardHeaders, failure }),

    // Claude models on Bedrock continue a trailing assistant turn; others may refuse it,
    // and the gateway then falls back to an explicit continuation request.
    supportsPrefill: (route: Route) => isBedrockClaude(route.model),

    async complete(route: Route, req: ChatRequest, opts: CallOptions): Promise<CompletionResult> {
      const plan = structuredPlan(req, route, bedrockHasNativeOutput);
      // Only reasoning_effort leaves a note here: no array for the plain request.
      const notes = req.reasoning_effort ? [] : undefined;
      const command = new ConverseCommand(toConverseRequest(req, route.model, plan, route.promptCache, notes));
      addForwardHeaders(command, opts.forwardHeaders);
      let output;
      try {
        output = await clientFor(route, opts).send(command, { abortSignal: opts.signal });
      } catch (err) {
        throw failure(err, opts.signal);
      }
      const completion = unwrapCompletion(fromConverseResponse(output, metaFor(route)), plan);
      return notes?.length ? { completion, notes } : { completion };
    },

    async stream(route: Route, req: ChatRequest, opts: CallOptions): Promise<StreamResult> {
      const plan = structuredPlan(req, route, bedrockHasNativeOutput);
      const notes = req.reasoning_effort ? [] : undefined;
      const command = new ConverseStreamCommand(toConverseRequest(req, route.model, plan, route.promptCache, notes));
      addForwardHeaders(command, opts.forwardHeaders);
      // Our own abort too: a consumer that stops reading early must not leave the socket busy.
      const release = new AbortController();
      let output;
      try {
        // Resolves once Bedrock accepted the request: errors before the stream reject here.
        output = await clientFor(route, opts).send(command, { abortSignal: AbortSignal.any([opts.signal, release.signal]) });
      } catch (err) {
        throw failure(err, opts.signal);
      }
      if (!output.stream) {
        release.abort();
        throw new ProviderError('transient', 'Bedrock ConverseStream answered without an event stream', { code: 'unparseable' });
      }
      const translator = new ConverseStreamTranslator(metaFor(route));
      const chunks = unwrapChunks(
        translateStream(output.stream, translator, opts.signal, () => release.abort()),
        plan,
      );
      return notes?.length ? { chunks, notes } : { chunks };
    },

    async close(): Promise<void> {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}

function defaultRequestHandler(connectTimeoutMs: number): NodeHttpHandler {
  const agentOptions = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 256 };
  return new NodeHttpHandler({
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    connectionTimeout: connectTimeoutMs,
    // First-byte and idle timeouts are the router's (it aborts the signal); none hidden here.
    requestTimeout: 0,
  });
}

async function* translateStream(
  events: AsyncIterable<ConverseStreamOutput>,
  translator: ConverseStreamTranslator,
  signal: AbortSignal,
  release: () => void,
): AsyncGenerator<ChatCompletionChunk> {
  let whole = false;
  try {
    for await (const event of events) {
      const exception = streamExceptionOf(event);
      if (exception) throw classifyBedrockError(Object.assign(new Error(exception.message), { name: exception.name }));
      yield* translator.push(event);
    }
    yield* translator.end();
    whole = true;
  } catch (err) {
    throw failure(err, signal);
  } finally {
    // Failed or abandoned: drop the connection rather than wait for the rest of the answer.
    if (!whole) release();
  }
}

/** The caller's reason wins when it aborted (deadline, timeout, client gone); else classify. */
function failure(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason ?? err;
  return classifyBedrockError(err);
}

function metaFor(route: Route): CompletionMeta {
  return { id: `chatcmpl-${randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000), model: route.model };
}

/** Extra upstream headers (provider config, trace context), added before SigV4 signs the request. */
type MiddlewareTarget = BedrockRuntimeClient | ConverseCommand | ConverseStreamCommand | InvokeModelCommand | InvokeModelWithResponseStreamCommand | CountTokensCommand;

function addHeaders(target: MiddlewareTarget, headers: Readonly<Record<string, string>> | undefined, name: string): void {
  if (!headers || Object.keys(headers).length === 0) return;
  // The three stacks differ only in their input/output types, which this middleware never reads.
  (target.middlewareStack as BedrockRuntimeClient['middlewareStack']).add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) Object.assign(request.headers, headers);
      return next(args);
    },
    { step: 'build', name },
  );
}
