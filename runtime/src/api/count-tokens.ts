/**
 * POST /v1/messages/count_tokens: `{"input_tokens"}` from the provider's own counter
 * where the route that would serve has one (the Anthropic API's count_tokens, Bedrock's
 * CountTokens, a spoke's), else the gateway's estimate; `x-gateway-token-count` says
 * which. Counting generates nothing: it counts as one request against the tenant's rpm
 * (no tokens) and reserves nothing on any route (routing/counter-routes.ts).
 */
import { linkedSource } from '../core/cancellation';
import { ROUTE_HEADER } from '../core/gateway-headers';
import type { CountTokensRequest } from '../core/messages-request';
import type { Gateway } from '../gateway';
import { TOKEN_COUNT_HEADER } from '../providers/anthropic/messages';
import { isForwarded, messagesApiOf, type CountTokensCall, type ForwardedMessages, type TokenCount } from '../providers/messages-types';
import { ProviderError } from '../providers/errors';
import type { Route } from '../providers/types';
import { estimateMessagesPromptTokens } from '../quota/messages-estimate';
import { estimateTokens } from '../quota/token-estimate';
import { applyToMessages } from '../guardrails/messages-text';
import { walkCounters } from '../routing/counter-routes';
import { anthropicErrorReply } from './anthropic-errors';
import { refusesRequest } from './failure-response';
import { anthropicHeaders } from './anthropic-headers';
import type { ApiHandler } from './call';
import { forwardedMessages } from './forwarded-messages';
import { apiHandler, type RequestRouting } from './request-lifecycle';
import { parseCountTokensBody } from './validate-messages';

export function countTokensHandler(gw: Gateway): ApiHandler {
  const handler = apiHandler(gw, async (req, c) => {
    const ev = req.event;
    ev.api = 'count_tokens';
    const headers = anthropicHeaders(c);
    const tenant = req.authenticate();
    const text = await c.text();
    const guardrails = gw.guardrails;
    // A proxy without guardrails forwards the body for its spoke to validate.
    const parsed: CountTokensRequest | ForwardedMessages =
      (gw.role === 'proxy' && guardrails.empty && forwardedMessages(text, true)) || parseCountTokensBody(text, headers.version, gw.messagesChecks);
    ev.model = parsed.model;
    const routes = await req.routesFor(parsed.model);
    await req.admit(0);
    // The provider counts what it would be sent: the text as the guardrails left it (a denied prompt is refused here too).
    const body = isForwarded(parsed) || guardrails.empty ? parsed : await applyToMessages(guardrails, parsed, { model: parsed.model, tenant: tenant?.id });
    const routing = req.route(routes, false, 0);
    const call: CountTokensCall = { request: body, version: headers.version, betas: headers.betas };
    // A spoke counts (or estimates) itself: its 400 is its verdict on the request, the client's
    // answer. A provider's own counter may refuse what its model would serve: the next counter, or the estimate, then.
    const finalRefusal = gw.role === 'proxy' ? refusesRequest : undefined;
    let walk;
    try {
      walk = await walkCounters(gw.selector, routes, (route) => counterOf(gw, routing, route, call), gw.now, routing.life, finalRefusal);
    } catch (err) {
      // A passed deadline or a client gone is answered as every route answers it (504, client_closed), not as a 500.
      throw routing.failure(err);
    }
    routing.life.end();
    const counted = walk.counted;
    const inputTokens = counted?.value.inputTokens ?? (isForwarded(body) ? estimateTokens(body.body) : estimateMessagesPromptTokens(body));
    const source = counted?.value.source ?? 'estimate';
    req.settleTenant(0);
    const route = counted && (counted.value.upstreamRoute ?? counted.route.key);
    req.report(200, { attempts: walk.attempts, ...(route ? { route } : {}), notes: [`token count: ${source}`] });
    const out: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': c.requestId, 'request-id': c.requestId, [TOKEN_COUNT_HEADER]: source };
    if (route) out[ROUTE_HEADER] = route;
    return { kind: 'json', status: 200, headers: out, body: JSON.stringify({ input_tokens: inputTokens }) };
  });
  return Object.assign(handler, { renderError: anthropicErrorReply });
}

/** The route's counter: its provider's own where the target is served natively; none for a translated target. */
function counterOf(gw: Gateway, routing: RequestRouting, route: Route, call: CountTokensCall): (() => Promise<TokenCount>) | undefined {
  const api = messagesApiOf(routing.adapterFor(route));
  if (!api?.serves(route) || !api.countTokens) return undefined;
  const count = api.countTokens.bind(api);
  const timeoutMs = routing.routed.timeouts.firstByteMs;
  return async () => {
    const { source, unlink } = linkedSource(routing.life);
    const timer = setTimeout(() => source.abort(new ProviderError('silent', `no token count within ${timeoutMs} ms`)), timeoutMs);
    try {
      return await count(route, call, routing.options(source));
    } catch (err) {
      throw source.aborted && !routing.life.aborted ? source.reason : err;
    } finally {
      clearTimeout(timer);
      unlink();
    }
  };
}
