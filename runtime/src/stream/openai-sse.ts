/** The OpenAI SSE wire format of a chat stream: `data: {chunk}\n\n` ... `data: [DONE]\n\n`. */
import { DeadlinePassed } from '../core/cancellation';
import type { OpenAIErrorBody } from '../core/gateway-error';
import type { ChatCompletionChunk } from '../core/openai-types';
import { chunkJson } from '../core/raw-chunk';
import { brokenStreamMessage, STREAM_INTERRUPTED } from '../providers/errors';
import type { SseFraming } from './sse-response';

export function streamErrorEvent(err: unknown): OpenAIErrorBody {
  // The request's deadline passed while streaming: said as the 504 before the first byte says it.
  if (err instanceof DeadlinePassed) return { error: { message: err.message, type: 'timeout_error', code: 'deadline_exceeded', param: null } };
  return { error: { message: brokenStreamMessage(err), type: 'api_error', code: STREAM_INTERRUPTED, param: null } };
}

const chunkEvent = (chunk: ChatCompletionChunk) => `data: ${chunkJson(chunk)}\n\n`;
const errorEvent = (err: unknown) => `data: ${JSON.stringify(streamErrorEvent(err))}\n\n`;
const DONE = 'data: [DONE]\n\n';

const WITH_USAGE: SseFraming<ChatCompletionChunk> = { event: chunkEvent, done: DONE, error: errorEvent };
const WITHOUT_USAGE: SseFraming<ChatCompletionChunk> = {
  // The final usage chunk (no choices) goes out only when the client asked for it.
  event: (chunk) => (chunk.choices.length === 0 ? undefined : chunkEvent(chunk)),
  done: DONE,
  error: errorEvent,
};

/** Chat chunks as OpenAI frames them; the usage chunk only with `includeUsage` (`stream_options.include_usage`). */
export function chatChunkFraming(includeUsage: boolean): SseFraming<ChatCompletionChunk> {
  return includeUsage ? WITH_USAGE : WITHOUT_USAGE;
}
