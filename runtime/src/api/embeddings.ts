/**
 * POST /v1/embeddings: the body validated (a proxy without guardrails reads only `model`
 * and forwards the rest to its spoke), guardrails on the texts, then the request's
 * lifecycle (request-lifecycle.ts) with its inputs as provider batches
 * (embedding-batches.ts), answered in OpenAI's shape in the encoding the client asked for.
 * Provider wire formats never reach this file.
 */
import type { AttemptRecord } from '../core/attempt';
import type { EmbeddingsRequest, EmbeddingVector, ForwardedEmbeddings } from '../core/embeddings';
import { ATTEMPTS_HEADER, BATCHES_HEADER, COST_HEADER, ROUTE_HEADER } from '../core/gateway-headers';
import { usageOf } from '../core/openai-types';
import type { Gateway } from '../gateway';
import { estimateInputTokens, estimateTokens } from '../quota/token-estimate';
import type { EmbeddingsResult } from '../providers/types';
import type { Answered } from '../routing/executor';
import type { ModelRoutes } from '../routing/route-table';
import type { ApiReply } from './call';
import { planBatches, runBatches } from './embedding-batches';
import { guardEmbeddings } from './embeddings-guardrails';
import { embeddingsAnswerJson, embeddingsRequestJson } from './embeddings-json';
import { forwardedEmbeddings } from './forwarded-embeddings';
import { answeredAttempts, answeredRoute, apiHandler, type ApiRequest } from './request-lifecycle';
import type { ApiHandler } from './call';
import { parseEmbeddingsBody } from './validate-embeddings';

export function embeddingsHandler(gw: Gateway): ApiHandler {
  return apiHandler(
    gw,
    async (req, c) => {
      const ev = req.event;
      const tenant = req.authenticate();
      const text = await c.text();
      const guardrails = gw.guardrails;
      const proxy = gw.role === 'proxy';
      // A proxy without guardrails forwards the body for its spoke to validate.
      const thin = proxy && guardrails.empty ? forwardedEmbeddings(text) : undefined;
      if (thin) {
        ev.model = thin.model;
        const routes = await req.routesFor(thin.model);
        const estimate = estimateTokens(text);
        await req.admit(estimate);
        return forwardAnswer(req, routes, thin, estimate);
      }
      const full = parseEmbeddingsBody(text);
      ev.model = full.model;
      if (gw.config.observability.logContent) ev.content = { prompt: full.inputs.items };
      const routes = await req.routesFor(full.model);
      const estimate = estimateInputTokens(full.inputs);
      await req.admit(estimate);
      const checked = guardrails.empty ? full : await guardEmbeddings(guardrails, full, { model: full.model, tenant: tenant?.id });
      if (proxy) return forwardAnswer(req, routes, { forwarded: true, body: embeddingsRequestJson(checked), model: checked.model, inputs: checked.inputs.items.length }, estimate);
      return batchedAnswer(gw, req, routes, checked, estimate);
    },
    'embeddings',
  );
}

/** The request's inputs in provider batches; one answer in input order, usage summed. */
async function batchedAnswer(gw: Gateway, req: ApiRequest, routes: ModelRoutes, embeddings: EmbeddingsRequest, estimate: number): Promise<ApiReply> {
  const plan = planBatches(gw, routes, embeddings);
  const routing = req.route(routes, false, estimate, { cannotServe: plan.cannotServe });
  const outcome = await runBatches(gw, routing, plan);
  const ev = req.event;
  ev.batches = plan.calls.length;
  if (outcome.failure !== undefined) {
    // The batches served before the failure were billed by their providers: charged all the same.
    for (const a of outcome.answers) if (a) req.charge(a.route, a.value, usageOf(a.value.promptTokens, 0));
    const err = routing.failure(outcome.failure);
    ev.attempts = outcome.attempts;
    throw err;
  }
  routing.life.end();
  const answers = outcome.answers;
  let promptTokens = 0;
  let attempts = 0;
  const routesUsed = new Set<string>();
  for (const a of answers) {
    promptTokens += a.value.promptTokens;
    // Each batch at the price of the route that served it (embeddings bill input only).
    req.charge(a.route, a.value, usageOf(a.value.promptTokens, 0));
    attempts += answeredAttempts(a);
    routesUsed.add(answeredRoute(a));
  }
  req.settleTenant(promptTokens);
  const route = [...routesUsed].join(', ');
  req.report(200, { route, attempts: outcome.attempts, usage: usageOf(promptTokens, 0) });
  const first = answers[0].value;
  // One batch from a server that answered in the client's encoding: its own answer, as it came.
  const body = first.body ?? embeddingsAnswerJson(vectorsOf(answers), embeddings.encoding, first.model, promptTokens);
  return { kind: 'json', status: 200, headers: answerHeaders(ev.requestId, route, attempts, answers.length, req.cost), body };
}

/** The proxy's hop: the request to a spoke as one call, the spoke's answer to the client as it came. */
async function forwardAnswer(req: ApiRequest, routes: ModelRoutes, request: ForwardedEmbeddings, estimate: number): Promise<ApiReply> {
  const routing = req.route(routes, false, estimate);
  const answer = await routing.run((route, attempt) => {
    const embeddings = routing.adapterFor(route).embeddings;
    if (!embeddings?.forward) throw new Error(`the proxy's adapter for ${route.provider.id} cannot forward embeddings`);
    return embeddings.forward(route, request, routing.options(attempt));
  });
  routing.life.end();
  const result = answer.value;
  const tokens = result.promptTokens ?? estimate;
  answer.settle(tokens);
  req.settleTenant(tokens);
  // The spoke's reported cost when it sent one, else the proxy's price bound for the model.
  req.charge(answer.route, result, usageOf(tokens, 0));
  const route = answeredRoute(answer);
  const attempts: readonly AttemptRecord[] = answer.attempts;
  req.report(200, { route, attempts, usage: usageOf(tokens, 0), batches: result.upstreamBatches });
  return { kind: 'json', status: 200, headers: answerHeaders(req.event.requestId, route, answeredAttempts(answer), result.upstreamBatches, req.cost), body: result.body };
}

/** Every batch's vectors, in input order (adapters give vectors unless they gave a whole call's answer as it came). */
function vectorsOf(answers: readonly Answered<EmbeddingsResult>[]): EmbeddingVector[] {
  return answers.flatMap((a) => {
    if (!a.value.vectors) throw new Error(`${a.route.key}: the adapter answered a batch without its vectors`);
    return a.value.vectors;
  });
}

function answerHeaders(requestId: string, route: string, attempts: number, batches: number | undefined, costUsd: number | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId, [ROUTE_HEADER]: route, [ATTEMPTS_HEADER]: String(attempts) };
  if (batches !== undefined) headers[BATCHES_HEADER] = String(batches);
  if (costUsd !== undefined) headers[COST_HEADER] = String(costUsd);
  return headers;
}
