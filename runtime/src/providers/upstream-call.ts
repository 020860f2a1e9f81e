/**
 * The one way an HTTP adapter calls its upstream, whatever the endpoint (chat completions,
 * messages, embeddings, count_tokens): the account's key (a source that cannot be read
 * fails this route, not the request), the headers merged in one order, the single retry
 * after a 401 with a rotated key, the 2xx and content-type checks, and an error answer
 * read (bounded), classified by the protocol's classifier, with no credential left in
 * its message.
 */
import type { ProviderConfig } from '../config/schema';
import { REDACTED, redactCredentials } from '../core/redact';
import { rotatedCredential, type CredentialResolver } from './credentials';
import { ProviderError } from './errors';
import { header, isSuccess, post, postWhole, readText, type AnswerLimits, type HttpClient, type UpstreamHeaders, type UpstreamResponse, type WholeAnswer } from './http';
import { upstreamSignal, type CallOptions, type Route, type UpstreamSignal } from './types';

/** What differs between upstream protocols: how the key travels and how failures read. */
export interface UpstreamProtocol {
  /** Protocol headers (e.g. `anthropic-version`) that a provider's configured headers may replace. */
  readonly defaultHeaders?: Readonly<Record<string, string>>;
  /** The header that carries the key, and what goes before the key in it. */
  readonly keyHeader: { readonly name: string; readonly prefix: string };
  /** Hosted APIs need a key: without one the route fails before anything is sent. Self-hosted servers often take none. */
  readonly keyRequired: boolean;
  /** A non-2xx answer as a ProviderError; `body` is its text (bounded, "" when it could not be read). */
  classify(status: number, body: string, headers: UpstreamHeaders): ProviderError;
}

/** An upstream answer with the key it was sent with (a stream reader redacts error events with it). */
export interface Upstream<R> {
  readonly answer: R;
  readonly key: string | undefined;
}

export interface UpstreamCall {
  /** POSTs `body`; the 2xx answer is JSON, read whole, up to `answerBytes` (at least ANSWER_BYTES). */
  post(route: Route, url: string, body: string, opts: CallOptions, headers?: Readonly<Record<string, string>>, answerBytes?: number): Promise<Upstream<WholeAnswer>>;
  /** POSTs `body`; the 2xx answer is an event stream, handed over once its headers are in. */
  openStream(route: Route, url: string, body: string, opts: CallOptions, headers?: Readonly<Record<string, string>>): Promise<Upstream<UpstreamResponse>>;
}

/** Error bodies are read for their message only; more than this is not an error body. */
export const ERROR_BODY_LIMIT = 64 * 1024;
/** A 2xx JSON answer is read up to this many bytes, unless its call allows more (embeddings). */
export const ANSWER_BYTES = 8 * 1024 * 1024;
const ANSWER_LIMITS = { okBytes: ANSWER_BYTES, errorBytes: ERROR_BODY_LIMIT };

/** One way of reading the answer: streamed, or whole. */
interface Reading<R extends { statusCode: number; headers: UpstreamHeaders }> {
  readonly accept: string;
  /** What a 2xx answer's content type must contain, and its name in an error. */
  readonly contentType: string;
  readonly expected: string;
  post(url: string, body: string, headers: Record<string, string>, signal: UpstreamSignal, what: string, opts: CallOptions): Promise<R>;
  /** An error answer's text, for its message (bounded; "" when it breaks off). */
  errorText(res: R): Promise<string>;
  /** Drops the answer, so that the connection can be reused. */
  discard(res: R): Promise<void>;
}

export function createUpstreamCall(provider: ProviderConfig, deps: { resolveCredential: CredentialResolver; http: HttpClient }, protocol: UpstreamProtocol): UpstreamCall {
  // Lower-cased once: a configured "Authorization" or "Content-Type" cannot ride along with ours.
  const merged: Record<string, string> = { ...protocol.defaultHeaders };
  const configured = provider.headers;
  if (configured) for (const k in configured) merged[k.toLowerCase()] = configured[k]!;
  // Copied pair by pair per call: a spread of this object cost ~2 us a request (~50x the loop).
  const base = Object.entries(merged);

  const streamed: Reading<UpstreamResponse> = {
    accept: 'text/event-stream',
    contentType: 'text/event-stream',
    expected: 'an event stream',
    post: (url, body, headers, signal, what, opts) => post(deps.http, url, body, headers, signal, `${what}: request failed`, opts.connectTimeoutMs, opts.freshConnection),
    errorText: (res) => readText(res, ERROR_BODY_LIMIT).catch(() => ''),
    discard,
  };
  const wholeUpTo = (limits: AnswerLimits): Reading<WholeAnswer> => ({
    accept: 'application/json',
    contentType: 'json',
    expected: 'JSON',
    post: (url, body, headers, signal, what, opts) => postWhole(deps.http, url, body, headers, signal, limits, what, opts.connectTimeoutMs, opts.freshConnection),
    errorText: async (res) => res.text,
    discard: async () => undefined,
  });
  const whole = wholeUpTo(ANSWER_LIMITS);

  /** Configured, then forwarded (trace context), then this call's, then ours: each later one wins. */
  function headersFor(
    opts: CallOptions,
    reading: Reading<{ statusCode: number; headers: UpstreamHeaders }>,
    extra: Readonly<Record<string, string>> | undefined,
    key: string | undefined,
  ): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [k, v] of base) headers[k] = v;
    const forwarded = opts.forwardHeaders;
    if (forwarded) for (const k in forwarded) headers[k.toLowerCase()] = forwarded[k]!;
    if (extra) for (const k in extra) headers[k.toLowerCase()] = extra[k]!;
    headers['content-type'] = 'application/json';
    headers.accept = reading.accept;
    headers['x-request-id'] = opts.requestId;
    // No key (Ollama, vLLM): no key header at all rather than an empty one.
    if (key) headers[protocol.keyHeader.name] = protocol.keyHeader.prefix + key;
    return headers;
  }

  async function call<R extends { statusCode: number; headers: UpstreamHeaders }>(
    reading: Reading<R>,
    route: Route,
    url: string,
    body: string,
    opts: CallOptions,
    extra: Readonly<Record<string, string>> | undefined,
  ): Promise<Upstream<R>> {
    // No credentials configured and none needed (spokes, Ollama): nothing to wait for; a local one is read at once.
    const found = route.account.credentials || protocol.keyRequired ? keyOf(route) : undefined;
    let key = found instanceof Promise ? await found : found;
    const signal = upstreamSignal(opts);
    const send = () => reading.post(url, body, headersFor(opts, reading, extra, key), signal, route.key, opts);
    let res = await send();
    // A 401 may mean the key was rotated: once more, with the value read afresh (if it changed).
    const rotated = res.statusCode === 401 ? await rotatedCredential(deps.resolveCredential, route.account.credentials, key) : undefined;
    if (rotated !== undefined) {
      await reading.discard(res);
      key = rotated;
      res = await send();
    }
    if (!isSuccess(res.statusCode)) {
      const text = await reading.errorText(res);
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      // The key itself leaves the body before the classifier reads it; what it writes is redacted again.
      throw withoutCredentials(protocol.classify(res.statusCode, key && key.length >= 4 ? text.split(key).join(REDACTED) : text, res.headers), key, res.statusCode);
    }
    const type = header(res, 'content-type');
    // A 2xx that is not what was asked for (an HTML page from a proxy in between) is a broken hop.
    // Without a content type the body decides (some self-hosted servers send none).
    if (type !== undefined && !type.toLowerCase().includes(reading.contentType)) {
      await reading.discard(res);
      throw new ProviderError('transient', `${route.key}: upstream answered ${res.statusCode} with content-type "${type}", not ${reading.expected}`, {
        status: res.statusCode,
        code: 'wrong_content_type',
      });
    }
    return { answer: res, key };
  }

  /** The account's key; a source that cannot be read now fails this route, and other routes may serve. */
  function keyOf(route: Route): string | undefined | Promise<string | undefined> {
    const credentials = route.account.credentials;
    if (!credentials) return requiredKey(route, undefined);
    let found: string | undefined | Promise<string | undefined>;
    try {
      found = deps.resolveCredential(credentials);
    } catch (err) {
      throw credentialsUnavailable(route, err);
    }
    if (!(found instanceof Promise)) return requiredKey(route, found);
    return found.then(
      (key) => requiredKey(route, key),
      (err: unknown) => Promise.reject(credentialsUnavailable(route, err)),
    );
  }

  /** `key`, or (none, and the protocol needs one) the route's failure. */
  function requiredKey(route: Route, key: string | undefined): string | undefined {
    if (!key && protocol.keyRequired) {
      throw new ProviderError('transient', `${route.key}: credentials unavailable: account ${route.account.id} has no key`, { code: 'no_credentials' });
    }
    return key;
  }

  return {
    post: (route, url, body, opts, headers, answerBytes) =>
      call(answerBytes !== undefined && answerBytes > ANSWER_BYTES ? wholeUpTo({ okBytes: answerBytes, errorBytes: ERROR_BODY_LIMIT }) : whole, route, url, body, opts, headers),
    openStream: (route, url, body, opts, headers) => call(streamed, route, url, body, opts, headers),
  };
}

/** `err` with no credential in its message: the key that was sent, and anything shaped like a key. */
export function withoutCredentials(err: ProviderError, key: string | undefined, status = err.status ?? 0): ProviderError {
  const message = redactCredentials(err.message, key, status);
  if (message === err.message) return err;
  // A new error, not a changed message: the stack was written with the first one.
  return new ProviderError(err.failure, message, { status: err.status, code: err.code, retryAfterMs: err.retryAfterMs, param: err.param, cause: err.cause });
}

function credentialsUnavailable(route: Route, err: unknown): ProviderError {
  return new ProviderError('transient', `${route.key}: credentials unavailable: ${(err as Error).message}`, { code: 'no_credentials', cause: err });
}

/** Frees the connection of an answer we will not read. */
async function discard(res: UpstreamResponse): Promise<void> {
  await res.body.dump({ limit: ERROR_BODY_LIMIT }).catch(() => undefined);
}
