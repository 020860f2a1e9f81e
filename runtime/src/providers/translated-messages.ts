/**
 * The Messages API on a route whose target does not speak it: the request translated to
 * the adapter's OpenAI shape, the answer and chunks translated back
 * (translate/anthropic-openai.ts). Beta flags are Claude's: none goes to such a target.
 */
import type { ChatRequest } from '../core/chat-request';
import type { ProviderType } from '../config/schema';
import { hasImages, requestImages, type RequestImage } from '../core/image-url';
import type { MessagesRequest } from '../core/messages-request';
import type { ChatCompletionChunk } from '../core/openai-types';
import { estimateMessagesPromptTokens } from '../quota/messages-estimate';
import { betasFor, droppedBetasNote } from './anthropic/beta-flags';
import { imageProblem } from './image-support';
import { ProviderError } from './errors';
import { isForwarded, messagesApiOf, type MessagesApi, type MessagesCall, type MessagesEvent } from './messages-types';
import { ChunksToEvents, messageFromCompletion, toChatRequest, type TranslatedRequest } from './translate/anthropic-openai';
import type { Notes, ProviderAdapter, Route, UpstreamMeta } from './types';

const translated = new WeakMap<ProviderAdapter, MessagesApi>();

/**
 * Each request's translation, made once: by the check that chooses its routes, then used
 * by every attempt (read only, as a chat request is across its attempts).
 */
const translations = new WeakMap<MessagesRequest, TranslatedRequest>();

function translationOf(req: MessagesRequest): TranslatedRequest {
  let out = translations.get(req);
  if (!out) translations.set(req, (out = toChatRequest(req)));
  return out;
}

/** The Messages API a route is served through: its adapter's own when the route takes it, else translation. */
export function messagesFor(adapter: ProviderAdapter, route: Route): MessagesApi {
  const native = messagesApiOf(adapter);
  if (native?.serves(route)) return native;
  let api = translated.get(adapter);
  if (!api) translated.set(adapter, (api = translatedMessages(adapter)));
  return api;
}

/**
 * Why a translated route of a provider kind cannot take `req` (a block translation
 * refuses, an image that kind cannot take), named; undefined when every kind can take all of it.
 */
export function translationCheck(req: MessagesRequest): ((type: ProviderType) => string | undefined) | undefined {
  let chat: ChatRequest;
  try {
    chat = translationOf(req).chat;
  } catch (err) {
    if (err instanceof ProviderError && err.failure === 'refused') return () => err.message;
    throw err;
  }
  if (!hasImages(chat)) return undefined;
  const images: RequestImage[] = [];
  for (const image of requestImages(chat)) {
    if ('error' in image) return () => `an image of this request: ${image.error}`;
    images.push(image);
  }
  const byType = new Map<ProviderType, string | undefined>();
  return (type) => {
    if (!byType.has(type)) {
      const problem = imageProblem(images, type);
      byType.set(type, problem && `an image of this request: ${problem.message}`);
    }
    return byType.get(type);
  };
}

function translatedMessages(adapter: ProviderAdapter): MessagesApi {
  return {
    serves: () => true,
    prefill: (route) => adapter.supportsPrefill?.(route) ?? false,

    async create(route, call, opts) {
      const { chat, notes } = translate(call, route);
      const { completion, ...meta } = await adapter.complete(route, chat, opts);
      return { message: messageFromCompletion(completion), ...upstreamMeta(meta), ...notesOf(notes) };
    },

    async stream(route, call, opts) {
      const { chat, notes } = translate(call, route);
      const request = call.request as MessagesRequest;
      const { chunks, ...meta } = await adapter.stream(route, chat, opts);
      return { chunks: events(chunks, new ChunksToEvents(estimateMessagesPromptTokens(request))), ...upstreamMeta(meta), ...notesOf(notes) };
    },
  };
}

function translate(call: MessagesCall, route: Route): TranslatedRequest {
  // Only a proxy forwards unread bodies, and a proxy's routes are spokes.
  if (isForwarded(call.request)) throw new ProviderError('refused', `${route.key}: a forwarded body cannot be translated`, { status: 400 });
  const { chat, notes } = translationOf(call.request);
  return { chat: { ...chat, model: route.logicalModel }, notes: [...notes, ...droppedBetasNote(betasFor('translated', call.betas), route.key)] };
}

async function* events(chunks: AsyncIterable<ChatCompletionChunk>, translator: ChunksToEvents): AsyncGenerator<MessagesEvent> {
  for await (const chunk of chunks) yield* translator.push(chunk);
  yield* translator.end();
}

function upstreamMeta(meta: UpstreamMeta): UpstreamMeta {
  const out: UpstreamMeta = {};
  if (meta.rateLimit) out.rateLimit = meta.rateLimit;
  if (meta.upstreamRoute) out.upstreamRoute = meta.upstreamRoute;
  if (meta.upstreamAttempts) out.upstreamAttempts = meta.upstreamAttempts;
  return out;
}

function notesOf(notes: string[]): Notes {
  return notes.length > 0 ? { notes } : {};
}
