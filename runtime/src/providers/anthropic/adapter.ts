/**
 * The Anthropic Messages API (`POST /v1/messages`) behind the OpenAI interface: one
 * pooled undici Agent per adapter, the translator for the wire format, and the
 * classifier for every failure.
 */
import type { ChatRequest } from '../../core/chat-request';
import type { ChatCompletionChunk } from '../../core/openai-types';
import type { ProviderConfig } from '../../config/schema';
import { readSse } from '../sse-read';
import { rotatedCredential, type CredentialResolver } from '../credentials';
import { classifyNetworkError, ProviderError } from '../errors';
import { header, post, readText, type HttpClient, type UpstreamResponse } from '../http';
import { redactCredentials } from '../../core/redact';
import { parseAnthropicRateLimit } from '../rate-limit-headers';
import {
  ANTHROPIC_SUPPORTS_PREFILL,
  AnthropicStreamTranslator,
  fromAnthropicMessage,
  parseAnthropicMessage,
  toAnthropicRequest,
} from '../translate/openai-anthropic';
import { upstreamSignal, type CallOptions, type CompletionResult, type ProviderAdapter, type Route, type StreamResult, type UpstreamSignal } from '../types';
import { classifyAnthropicError } from './classify';

export const ANTHROPIC_DEFAULT_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';

/** `{base}/v1/messages`, whether or not the configured base already ends in /v1. */
export function messagesUrl(base: string | undefined): string {
  const root = (base ?? ANTHROPIC_DEFAULT_URL).replace(/\/+$/, '');
  return root.endsWith('/v1') ? `${root}/messages` : `${root}/v1/messages`;
}

export function createAnthropicAdapter(provider: ProviderConfig, deps: { resolveCredential: CredentialResolver; http: HttpClient }): ProviderAdapter {

  async function send(route: Route, req: ChatRequest, opts: CallOptions, stream: boolean): Promise<{ res: UpstreamResponse; key: string }> {
    // Translate first: a request Anthropic cannot take is refused before any network use.
    const body = JSON.stringify(toAnthropicRequest(req, route.model, { stream }));
    let key = await apiKeyOf(route, deps.resolveCredential);
    const postWith = (k: string) =>
      post(deps.http, messagesUrl(route.endpoint.url), body, requestHeaders(provider, opts, k), upstreamSignal(opts), `Anthropic ${route.key}`, opts.connectTimeoutMs);
    let res = await postWith(key);
    // A 401 may mean the key was rotated: once more, with the value read afresh (if it changed).
    const rotated = res.statusCode === 401 ? await rotatedCredential(deps.resolveCredential, route.account.credentials, key) : undefined;
    if (rotated !== undefined) {
      await res.body.dump().catch(() => undefined);
      key = rotated;
      res = await postWith(key);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await bodyOf(res, upstreamSignal(opts), key, route);
      throw classifyAnthropicError(res.statusCode, redactCredentials(text, key, res.statusCode), res.headers);
    }
    return { res, key };
  }

  async function complete(route: Route, req: ChatRequest, opts: CallOptions): Promise<CompletionResult> {
    const { res, key } = await send(route, req, opts, false);
    await expectContentType(res, 'application/json', 'JSON');
    const text = await bodyOf(res, upstreamSignal(opts), key, route);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ProviderError('transient', `Anthropic upstream answered ${res.statusCode} with a body that is not JSON`, {
        status: res.statusCode,
        code: 'unparseable',
      });
    }
    const completion = fromAnthropicMessage(parseAnthropicMessage(parsed), route.model);
    return withRateLimit({ completion }, res);
  }

  async function stream(route: Route, req: ChatRequest, opts: CallOptions): Promise<StreamResult> {
    const { res } = await send(route, req, opts, true);
    await expectContentType(res, 'text/event-stream', 'an event stream');
    return withRateLimit({ chunks: chunksOf(res, route, upstreamSignal(opts)) }, res);
  }

  return {
    complete,
    stream,
    // Messages continues a trailing assistant turn: what a broken stream needs.
    supportsPrefill: () => ANTHROPIC_SUPPORTS_PREFILL,
  };
}

async function* chunksOf(res: UpstreamResponse, route: Route, signal: UpstreamSignal): AsyncGenerator<ChatCompletionChunk> {
  const translator = new AnthropicStreamTranslator(route.model);
  let ended = false;
  try {
    try {
      // Read to the end after message_stop too, so the pooled connection can be reused.
      for await (const ev of readSse(res.body)) yield* translator.push(ev);
      ended = true;
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      // A break (or an abort) after the stop reason loses nothing of the answer.
      if (!translator.complete) {
        if (signal.aborted) throw signal.reason ?? err;
        throw classifyNetworkError(err, `Anthropic stream from ${route.key} broke`);
      }
    }
    yield* translator.end();
  } finally {
    // The consumer left early, or the stream failed: the socket cannot be reused.
    if (!ended) res.body.destroy();
  }
}

async function apiKeyOf(route: Route, resolve: CredentialResolver): Promise<string> {
  let key: string | undefined;
  try {
    key = await resolve(route.account.credentials);
  } catch (err) {
    // A broken credential source breaks this account, not the request: other routes may serve it.
    throw new ProviderError('transient', `Anthropic account ${route.account.id}: ${(err as Error).message}`, { code: 'no_credentials', cause: err });
  }
  if (!key) {
    throw new ProviderError('transient', `Anthropic account ${route.account.id} has no credentials configured`, { code: 'no_credentials' });
  }
  return key;
}

function requestHeaders(provider: ProviderConfig, opts: CallOptions, key: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'anthropic-version': ANTHROPIC_VERSION };
  // Lower-cased so that configured headers replace ours instead of being sent twice.
  for (const [k, v] of Object.entries(opts.forwardHeaders ?? {})) headers[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries(provider.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['x-api-key'] = key;
  return headers;
}

/** A whole body; a failure while reading it is the route's (or the abort's), with no key in it. */
async function bodyOf(res: UpstreamResponse, signal: UpstreamSignal, key: string, route: Route): Promise<string> {
  try {
    return await readText(res);
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    const e = classifyNetworkError(err, `Anthropic ${route.key} body`);
    throw new ProviderError('transient', redactCredentials(e.message, key, 0), { status: res.statusCode, code: e.code, cause: err });
  }
}

/** A 2xx that is not what we asked for (an HTML page from a proxy in between) is a broken hop. */
async function expectContentType(res: UpstreamResponse, type: string, what: string): Promise<void> {
  const got = header(res, 'content-type') ?? '';
  if (got.toLowerCase().includes(type)) return;
  // Dumping (bounded) rather than destroying keeps the connection reusable.
  await res.body.dump().catch(() => undefined);
  throw new ProviderError('transient', `Anthropic upstream answered ${res.statusCode} with content-type "${got || 'none'}", not ${what}`, {
    status: res.statusCode,
    code: 'wrong_content_type',
  });
}

function withRateLimit<T extends object>(result: T, res: UpstreamResponse): T & { rateLimit?: ReturnType<typeof parseAnthropicRateLimit> } {
  const rateLimit = parseAnthropicRateLimit(res.headers);
  return rateLimit ? { ...result, rateLimit } : result;
}
