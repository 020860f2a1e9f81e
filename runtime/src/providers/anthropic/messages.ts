/**
 * The Anthropic Messages API natively: the client's body goes on with the route's model
 * (nothing else changed), with the client's API version and the beta flags the target
 * takes; answers and events come back as Anthropic sent them. The same client speaks to
 * a spoke gateway (the proxy's hop), which takes the client's JSON as it came.
 */
import type { ProviderConfig } from '../../config/schema';
import type { CountTokensRequest } from '../../core/messages-request';
import type { CredentialResolver } from '../credentials';
import { ProviderError } from '../errors';
import { costReportAsked, withHopMeta } from '../gateway-hop-meta';
import { header, type HttpClient, type UpstreamHeaders } from '../http';
import { isForwarded, type CountTokensCall, type MessagesApi, type MessagesCall, type TokenCount } from '../messages-types';
import { parseAnthropicRateLimit } from '../rate-limit-headers';
import { ANTHROPIC_SUPPORTS_PREFILL, parseAnthropicMessage } from '../translate/openai-anthropic';
import { upstreamSignal, type ReportedCost, type Route, type UpstreamMeta } from '../types';
import { createUpstreamCall, type UpstreamProtocol } from '../upstream-call';
import { ANTHROPIC_PROTOCOL, messagesUrl } from './adapter';
import { betasFor, type BetaTarget } from './beta-flags';
import { withCachePolicy } from './cache-policy';
import { classifyGatewayHopError } from './classify';
import { sseMessageEvents } from './event-stream';

/** Which counter a spoke used: `provider` or `estimate`. */
export const TOKEN_COUNT_HEADER = 'x-gateway-token-count';

/** Another gateway: no key of ours (the hop is inside the platform's network), Anthropic's error shape with the gateway's code. */
const GATEWAY_PROTOCOL: UpstreamProtocol = { keyHeader: { name: 'x-api-key', prefix: '' }, keyRequired: false, classify: classifyGatewayHopError };

export interface AnthropicMessagesOptions {
  /** The upstream is a spoke gateway: the client's JSON forwarded as it came, every flag passed, its route and attempts read. */
  gatewayHop?: boolean;
}

export function createAnthropicMessages(provider: ProviderConfig, deps: { resolveCredential: CredentialResolver; http: HttpClient }, opts: AnthropicMessagesOptions = {}): MessagesApi {
  const hop = opts.gatewayHop === true;
  const upstream = createUpstreamCall(provider, deps, hop ? GATEWAY_PROTOCOL : ANTHROPIC_PROTOCOL);
  const target: BetaTarget = hop ? 'gateway' : 'anthropic';
  const metaOf = hop ? (headers: UpstreamHeaders) => withHopMeta(headers) : rateLimitMeta;

  /** The client's version and the flags this target takes (the version of a configured header yields to the client's). */
  function headersFor(call: MessagesCall<unknown>): Record<string, string> {
    const headers: Record<string, string> = { 'anthropic-version': call.version };
    const betas = betasFor(target, call.betas);
    if (betas.send.length > 0) headers['anthropic-beta'] = betas.send.join(',');
    return headers;
  }

  function bodyFor(call: MessagesCall<CountTokensRequest>, route: Route, stream?: boolean): string {
    const request = call.request;
    if (isForwarded(request)) return request.body;
    // A spoke applies its own targets' cache settings.
    const body: Record<string, unknown> = { ...(hop ? request : withCachePolicy(request, route)), model: route.model };
    if (stream) body.stream = true;
    else delete body.stream;
    return JSON.stringify(body);
  }

  return {
    serves: () => true,
    // A spoke hands a prefill on to its target, and answers 400 where the target refuses it (the explicit request comes next).
    prefill: () => ANTHROPIC_SUPPORTS_PREFILL,

    async create(route, call, callOpts) {
      const { answer } = await upstream.post(route, messagesUrl(route.endpoint.url), bodyFor(call, route, false), callOpts, headersFor(call));
      let parsed: unknown;
      try {
        parsed = JSON.parse(answer.text);
      } catch {
        throw new ProviderError('transient', `${route.key}: answered ${answer.statusCode} with a body that is not JSON`, { status: answer.statusCode, code: 'unparseable' });
      }
      return { message: parseAnthropicMessage(parsed), body: answer.text, ...metaOf(answer.headers) };
    },

    async stream(route, call, callOpts) {
      const { answer, key } = await upstream.openStream(route, messagesUrl(route.endpoint.url), bodyFor(call, route, true), callOpts, headersFor(call));
      // A spoke asked to report its cost puts it in its final message_delta: read there, kept from the client.
      const cost: ReportedCost | undefined = hop && costReportAsked(callOpts) ? {} : undefined;
      return {
        chunks: sseMessageEvents(answer, route, upstreamSignal(callOpts), key, cost),
        ...metaOf(answer.headers),
        ...(cost ? { reportedCost: cost } : {}),
      };
    },

    async countTokens(route: Route, call: CountTokensCall, callOpts): Promise<TokenCount> {
      const url = `${messagesUrl(route.endpoint.url)}/count_tokens`;
      const { answer } = await upstream.post(route, url, bodyFor(call, route), callOpts, headersFor(call));
      let count: unknown;
      try {
        count = (JSON.parse(answer.text) as { input_tokens?: unknown }).input_tokens;
      } catch {
        count = undefined;
      }
      if (typeof count !== 'number' || !Number.isFinite(count)) {
        throw new ProviderError('transient', `${route.key}: count_tokens answered without input_tokens`, { status: answer.statusCode, code: 'unparseable' });
      }
      const source = hop && header(answer, TOKEN_COUNT_HEADER) === 'estimate' ? 'estimate' : 'provider';
      return { inputTokens: count, source, ...metaOf(answer.headers) };
    },
  };
}

function rateLimitMeta(headers: UpstreamHeaders): UpstreamMeta {
  const rateLimit = parseAnthropicRateLimit(headers);
  return rateLimit ? { rateLimit } : {};
}
