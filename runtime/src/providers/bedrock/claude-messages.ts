/**
 * Claude on Bedrock natively: InvokeModel and InvokeModelWithResponseStream with the
 * Anthropic body (`anthropic_version: "bedrock-2023-05-31"`, no `model` or `stream`,
 * beta flags in `anthropic_beta`), whose answers and stream chunks are Anthropic's own
 * JSON, so thinking signatures, cache_control and tool blocks arrive intact; CountTokens
 * for its token counter. Converse would translate them away.
 */
import { CountTokensCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand, type BedrockRuntimeClient, type ResponseStream } from '@aws-sdk/client-bedrock-runtime';
import { isBlock, type ContentBlockParam, type CountTokensRequest, type MessagesRequest } from '../../core/messages-request';
import { echo } from '../../core/echo';
import { betasFor, droppedBetasNote } from '../anthropic/beta-flags';
import { withCachePolicy } from '../anthropic/cache-policy';
import { messageEvents } from '../anthropic/event-stream';
import { ProviderError } from '../errors';
import { isForwarded, type MessagesApi, type MessagesCall, type MessagesEvent } from '../messages-types';
import { parseAnthropicMessage } from '../translate/openai-anthropic';
import { isBedrockClaude } from '../translate/openai-bedrock';
import type { CallOptions, Route } from '../types';
import { classifyBedrockError } from './classify';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** Top-level fields Claude on Bedrock takes besides `anthropic_version` and `anthropic_beta` (it refuses "extraneous" keys). */
const BEDROCK_FIELDS = new Set([
  'max_tokens',
  'messages',
  'system',
  'stop_sequences',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'context_management',
]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The SDK client of a route (the Bedrock adapter's, shared with Converse). */
export type ClientFor = (route: Route, opts: CallOptions) => BedrockRuntimeClient;

export interface BedrockClaudeDeps {
  clientFor: ClientFor;
  /** Puts the client's trace context on a command's request, as Converse's calls carry it. */
  addForwardHeaders: (command: InvokeModelCommand | InvokeModelWithResponseStreamCommand | CountTokensCommand, headers: Readonly<Record<string, string>> | undefined) => void;
}

export function createBedrockClaudeMessages({ clientFor, addForwardHeaders }: BedrockClaudeDeps): MessagesApi {
  /** `command` with the call's forwarded headers. */
  const traced = <C extends InvokeModelCommand | InvokeModelWithResponseStreamCommand | CountTokensCommand>(command: C, opts: CallOptions): C => {
    addForwardHeaders(command, opts.forwardHeaders);
    return command;
  };
  return {
    serves: (route) => isBedrockClaude(route.model),
    prefill: () => true,
    cannotTake: sourceProblem,

    async create(route, call, opts) {
      const { body, notes } = invokeBody(call, route);
      let output;
      try {
        const command = traced(new InvokeModelCommand({ modelId: route.model, body, contentType: 'application/json', accept: 'application/json' }), opts);
        output = await clientFor(route, opts).send(command, { abortSignal: opts.signal });
      } catch (err) {
        throw failure(err, opts.signal);
      }
      const text = decoder.decode(output.body);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ProviderError('transient', `${route.key}: InvokeModel answered with a body that is not JSON`, { code: 'unparseable' });
      }
      return { message: parseAnthropicMessage(parsed), body: text, ...(notes.length > 0 ? { notes } : {}) };
    },

    async stream(route, call, opts) {
      const { body, notes } = invokeBody(call, route);
      // Our own abort too: a consumer that stops reading early must not leave the socket busy.
      const release = new AbortController();
      let output;
      try {
        const command = traced(new InvokeModelWithResponseStreamCommand({ modelId: route.model, body, contentType: 'application/json', accept: 'application/json' }), opts);
        output = await clientFor(route, opts).send(command, { abortSignal: AbortSignal.any([opts.signal, release.signal]) });
      } catch (err) {
        throw failure(err, opts.signal);
      }
      if (!output.body) {
        release.abort();
        throw new ProviderError('transient', `${route.key}: InvokeModelWithResponseStream answered without an event stream`, { code: 'unparseable' });
      }
      return { chunks: streamEvents(output.body, route, opts.signal, () => release.abort()), ...(notes.length > 0 ? { notes } : {}) };
    },

    async countTokens(route, call, opts) {
      const { body } = invokeBody(call, route);
      let output;
      try {
        const command = traced(new CountTokensCommand({ modelId: route.model, input: { invokeModel: { body } } }), opts);
        output = await clientFor(route, opts).send(command, { abortSignal: opts.signal });
      } catch (err) {
        throw failure(err, opts.signal);
      }
      if (typeof output.inputTokens !== 'number') throw new ProviderError('transient', `${route.key}: CountTokens answered without inputTokens`, { code: 'unparseable' });
      return { inputTokens: output.inputTokens, source: 'provider' };
    },
  };
}

/** Source kinds Claude on Bedrock refuses: it takes images and documents inline only (no URL fetch, no Files API). */
const REFUSED_SOURCES = new Set(['url', 'file']);

/** The first image or document (a tool result's too) whose source Bedrock refuses, named as validation names fields. */
function sourceProblem(req: MessagesRequest): string | undefined {
  const problem = (blocks: ContentBlockParam[], where: string): string | undefined => {
    for (const [j, b] of blocks.entries()) {
      const source = (b.type === 'image' || b.type === 'document') && (b.source as { type?: unknown } | undefined)?.type;
      if (typeof source === 'string' && REFUSED_SOURCES.has(source)) {
        return `${where}.${j}.source: Claude on Bedrock does not take ${b.type} sources of type "${echo(source)}" (and the gateway never fetches a URL a client sent): send it as base64`;
      }
      if (isBlock(b, 'tool_result') && Array.isArray(b.content)) {
        const inner = problem(b.content, `${where}.${j}.content`);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  for (const [i, m] of req.messages.entries()) {
    const found = typeof m.content === 'string' ? undefined : problem(m.content, `messages.${i}.content`);
    if (found) return found;
  }
  return undefined;
}

/**
 * The InvokeModel body for a Messages (or count_tokens) request: Bedrock's version, the
 * fields Claude on Bedrock takes, and the beta flags it knows; what was left out is noted.
 */
export function invokeBody(call: MessagesCall<CountTokensRequest>, route: Route): { body: Uint8Array; notes: string[] } {
  // Only a proxy forwards unread bodies, and a proxy's routes are spokes.
  if (isForwarded(call.request)) throw new ProviderError('refused', `${route.key}: a forwarded body cannot go to Bedrock`, { status: 400 });
  const request = withCachePolicy(call.request, route);
  const body: Record<string, unknown> = { anthropic_version: BEDROCK_ANTHROPIC_VERSION };
  const left: string[] = [];
  for (const key of Object.keys(request)) {
    if (BEDROCK_FIELDS.has(key)) body[key] = request[key];
    else if (key !== 'model' && key !== 'stream' && key !== 'metadata') left.push(key);
  }
  // count_tokens has no max_tokens, but an InvokeModel body must.
  body.max_tokens ??= 1;
  const userId = (request.metadata as { user_id?: unknown } | undefined)?.user_id;
  if (typeof userId === 'string') body.metadata = { user_id: userId };
  const betas = betasFor('bedrock', call.betas);
  if (betas.send.length > 0) body.anthropic_beta = betas.send;
  const notes = droppedBetasNote(betas, route.key);
  if (left.length > 0) notes.push(`${left.join(',')} not sent to ${route.key} (Claude on Bedrock does not take them)`);
  return { body: encoder.encode(JSON.stringify(body)), notes };
}

/** The response stream's chunks (each an Anthropic event's JSON) as events; exceptions thrown, classified. */
async function* streamEvents(stream: AsyncIterable<ResponseStream>, route: Route, signal: AbortSignal, release: () => void): AsyncGenerator<MessagesEvent> {
  let whole = false;
  try {
    for await (const ev of messageEvents(chunkTexts(stream), route.key)) {
      if (ev.type === 'message_stop') whole = true;
      yield ev;
    }
    whole = true;
  } catch (err) {
    throw failure(err, signal);
  } finally {
    // Failed or abandoned: drop the connection rather than wait for the rest of the answer.
    if (!whole) release();
  }
}

async function* chunkTexts(stream: AsyncIterable<ResponseStream>): AsyncGenerator<{ data: string }> {
  for await (const part of stream) {
    if (part.chunk?.bytes) {
      yield { data: decoder.decode(part.chunk.bytes) };
      continue;
    }
    // An exception member (throttlingException, modelStreamErrorException ...): its name and message.
    for (const [member, value] of Object.entries(part)) {
      if (!member.endsWith('Exception') || !value) continue;
      const name = member[0].toUpperCase() + member.slice(1);
      throw classifyBedrockError(Object.assign(new Error((value as { message?: string }).message ?? name), { name }));
    }
  }
}

/** The caller's reason wins when it aborted (deadline, timeout, client gone); else classify. */
function failure(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason ?? err;
  return classifyBedrockError(err);
}
