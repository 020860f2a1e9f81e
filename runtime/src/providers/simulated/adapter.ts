/**
 * The `simulated` provider: answers like a real one (latency, tokens per second, random
 * failures, its own quota with 429 + Retry-After, a prompt cache per endpoint) without a network. `npm start` and the
 * benchmarks run on it. Deterministic when the endpoint has a `seed`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { contentText, maxOutputTokens, type ChatRequest } from '../../core/chat-request';
import { usageOf, type ChatCompletion, type ChatCompletionChunk, type FinishReason, type ToolCall } from '../../core/openai-types';
import type { EndpointConfig, ProviderConfig, SimulatedEndpointConfig } from '../../config/schema';
import { estimatePromptTokens, estimateTokens } from '../../quota/token-estimate';
import { ProviderError } from '../errors';
import { effortIgnoredNotes } from '../translate/reasoning-effort';
import type { CallOptions, CompletionResult, ProviderAdapter, Route, StreamResult } from '../types';
import { sampleJson } from './json-sample';
import { SimulatedPromptCache, type CacheUse } from './prompt-cache';
import { MinuteWindow } from './sliding-window';
import { createSimulatedEmbeddings } from './embeddings';
import { answerTokens, hashString, prng } from './text';

const DEFAULT_ANSWER_TOKENS = 24;

interface EndpointState {
  window: MinuteWindow;
  failures: () => number;
  cache: SimulatedPromptCache;
}

interface Plan {
  tokens: string[];
  toolCall?: ToolCall;
  finish: FinishReason;
  promptTokens: number;
  /** What the endpoint's prompt cache read and wrote (set on admission). */
  cache?: CacheUse;
}

/** The most a fully cached prompt shortens the time to the first token (prefill skipped; a real cache hit saves up to ~85%). */
const CACHED_LATENCY_SAVING = 0.8;

export interface SimulatedDeps {
  now?: () => number;
}

export function createSimulatedAdapter(_provider: ProviderConfig, deps: SimulatedDeps = {}): ProviderAdapter {
  const now = deps.now ?? Date.now;
  const states = new Map<string, EndpointState>();

  const stateOf = (route: Route): EndpointState => {
    const key = `${route.account.id}/${route.endpoint.region}/${route.model}`;
    let s = states.get(key);
    if (!s) {
      const seed = simulationOf(route).seed;
      s = { window: new MinuteWindow(), failures: seed === undefined ? Math.random : prng(seed ^ hashString(key)), cache: new SimulatedPromptCache(now) };
      states.set(key, s);
    }
    return s;
  };

  /** Admission as the real provider does it: quota first (`reserve` tokens), then random failures. */
  const admit = (route: Route, reserve: number): void => {
    const ep = simulationOf(route);
    const s = stateOf(route);
    const t = now();
    const wait = ep.quota ? s.window.waitMs(t, ep.quota.rpm, ep.quota.tpm, reserve) : 0;
    if (wait > 0) {
      throw new ProviderError('throttled', `simulated ${route.key}: rate limit reached, retry in ${Math.ceil(wait / 1000)}s`, {
        status: 429,
        code: 'rate_limit_exceeded',
        retryAfterMs: wait,
      });
    }
    if (ep.failureRate > 0 && s.failures() < ep.failureRate) {
      throw new ProviderError('transient', `simulated ${route.key}: injected failure`, { status: 503, code: 'service_unavailable' });
    }
    s.window.record(t, reserve);
  };
  /** A chat request's admission, then its prompt through the endpoint's cache. */
  const admitChat = (route: Route, req: ChatRequest, plan: Plan): void => {
    admit(route, reserveOf(req, plan));
    plan.cache = stateOf(route).cache.use(req, route.promptCache);
  };

  return {
    embeddings: createSimulatedEmbeddings({ endpointOf: simulationOf, admit }),

    async complete(route, req, opts): Promise<CompletionResult> {
      const ep = simulationOf(route);
      const plan = planAnswer(ep, req);
      admitChat(route, req, plan);
      const ms = firstTokenMs(ep, plan) + (plan.tokens.length * 1000) / ep.tokensPerSecond;
      await sleep(ms, undefined, { signal: opts.signal });
      const text = plan.tokens.join('');
      const completion: ChatCompletion = {
        id: `chatcmpl-${randomUUID()}`,
        object: 'chat.completion',
        created: Math.floor(now() / 1000),
        model: route.model,
        choices: [
          {
            index: 0,
            message: plan.toolCall ? { role: 'assistant', content: null, tool_calls: [plan.toolCall] } : { role: 'assistant', content: text },
            finish_reason: plan.finish,
            logprobs: null,
          },
        ],
        usage: usageOf(plan.promptTokens, completionTokens(plan), plan.cache?.read, plan.cache?.written),
      };
      const notes = effortIgnoredNotes(req);
      return notes ? { completion, notes } : { completion };
    },

    async stream(route, req, opts): Promise<StreamResult> {
      const ep = simulationOf(route);
      const plan = planAnswer(ep, req);
      admitChat(route, req, plan);
      await sleep(firstTokenMs(ep, plan), undefined, { signal: opts.signal });
      const chunks = streamAnswer(route, ep, plan, opts, now);
      const notes = effortIgnoredNotes(req);
      return notes ? { chunks, notes } : { chunks };
    },
  };
}

/** What a chat request reserves of the endpoint's quota: its prompt and its output cap (or the planned answer). */
function reserveOf(req: ChatRequest, plan: Plan): number {
  return plan.promptTokens + (maxOutputTokens(req) ?? plan.tokens.length);
}

/** The route's endpoint as the simulated provider's schema parsed it (its type says it is one). */
function simulationOf(route: Route): SimulatedEndpointConfig {
  const ep: EndpointConfig = route.endpoint;
  if ('latencyMs' in ep) return ep;
  throw new ProviderError('refused', `${route.key}: the simulated provider got a route of provider type ${route.provider.type}`);
}

/** The endpoint's latency, shorter by the share of the prompt its cache served. */
function firstTokenMs(ep: SimulatedEndpointConfig, plan: Plan): number {
  const cached = plan.cache && plan.promptTokens > 0 ? Math.min(1, plan.cache.read / plan.promptTokens) : 0;
  return ep.latencyMs * (1 - CACHED_LATENCY_SAVING * cached);
}

/** Text answers count their pieces; a tool call its arguments, and a few tokens for the call itself. */
function completionTokens(plan: Plan): number {
  return plan.toolCall ? estimateTokens(plan.toolCall.function.arguments) + 4 : plan.tokens.length;
}

function planAnswer(ep: SimulatedEndpointConfig, req: ChatRequest): Plan {
  const promptTokens = estimatePromptTokens(req);
  const last = req.messages[req.messages.length - 1];
  const lastText = contentText(last.content);
  const random = ep.seed === undefined ? Math.random : prng(ep.seed ^ hashString(lastText));
  const tool = pickTool(req, last.role, lastText);
  if (tool) {
    const toolCall: ToolCall = {
      id: `call_${Math.floor(random() * 1e12).toString(36)}`,
      type: 'function',
      function: { name: tool, arguments: JSON.stringify(toolArguments(req, tool, lastText.slice(0, 40))) },
    };
    return { tokens: [], toolCall, finish: 'tool_calls', promptTokens };
  }
  const cap = maxOutputTokens(req);
  const json = jsonAnswer(req, random);
  if (json !== undefined) {
    // JSON goes out in pieces of about a token each; a cap below it truncates it, as a model would.
    const pieces = json.match(/[\s\S]{1,4}/g) ?? [];
    const kept = cap !== undefined ? pieces.slice(0, cap) : pieces;
    return { tokens: kept, finish: kept.length < pieces.length ? 'length' : 'stop', promptTokens };
  }
  const natural = DEFAULT_ANSWER_TOKENS;
  const count = cap !== undefined ? Math.min(cap, natural) : natural;
  return { tokens: answerTokens(random, count), finish: cap !== undefined && cap < natural ? 'length' : 'stop', promptTokens };
}

/** The answer's JSON text when `response_format` asks for JSON: a value that follows the client's schema. */
function jsonAnswer(req: ChatRequest, random: () => number): string | undefined {
  const format = req.response_format;
  if (!format || format.type === 'text') return undefined;
  const words = () => answerTokens(random, 3).join('').replace(/\.$/, '');
  if (format.type === 'json_object') return JSON.stringify({ answer: words() });
  return JSON.stringify(sampleJson(format.json_schema.schema, words));
}

/** Arguments that follow the tool's parameter schema, every string the user's words; `{ query }` without one. */
function toolArguments(req: ChatRequest, tool: string, words: string): Record<string, unknown> {
  const schema = req.tools?.find((t) => t.function.name === tool)?.function.parameters;
  const args = schema === undefined ? undefined : sampleJson(schema, () => words);
  return typeof args === 'object' && args !== null && !Array.isArray(args) && Object.keys(args).length > 0 ? (args as Record<string, unknown>) : { query: words };
}

/** Calls a tool when asked to (`required` or a named function), or when the user names one. */
function pickTool(req: ChatRequest, lastRole: string, lastText: string): string | undefined {
  if (!req.tools?.length || req.tool_choice === 'none' || lastRole === 'tool') return undefined;
  const choice = req.tool_choice;
  if (choice && typeof choice === 'object') return choice.function.name;
  if (choice === 'required') return req.tools[0].function.name;
  return req.tools.find((t) => lastText.includes(t.function.name))?.function.name;
}

async function* streamAnswer(route: Route, ep: SimulatedEndpointConfig, plan: Plan, opts: CallOptions, now: () => number): AsyncGenerator<ChatCompletionChunk> {
  const base = { id: `chatcmpl-${randomUUID()}`, object: 'chat.completion.chunk' as const, created: Math.floor(now() / 1000), model: route.model };
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finish: FinishReason | null = null): ChatCompletionChunk => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  yield chunk({ role: 'assistant', content: '' });
  const interval = 1000 / ep.tokensPerSecond;
  if (plan.toolCall) {
    const { id, type, function: fn } = plan.toolCall;
    yield chunk({ tool_calls: [{ index: 0, id, type, function: { name: fn.name, arguments: '' } }] });
    await sleep(interval, undefined, { signal: opts.signal });
    yield chunk({ tool_calls: [{ index: 0, function: { arguments: fn.arguments } }] });
  }
  for (const token of plan.tokens) {
    await sleep(interval, undefined, { signal: opts.signal });
    yield chunk({ content: token });
  }
  yield chunk({}, plan.finish);
  yield { ...base, choices: [], usage: usageOf(plan.promptTokens, completionTokens(plan), plan.cache?.read, plan.cache?.written) };
}
