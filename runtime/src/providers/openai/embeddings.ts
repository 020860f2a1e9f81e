/**
 * Embeddings on `openai` and `openai-compatible` providers (vLLM, Ollama), and the
 * proxy's spokes: POST {base}/embeddings. Their wire format is the client's, so requests
 * go almost as they came and answers are checked, not translated. OpenAI is asked for
 * base64 (a quarter of the text, exact float32); a self-hosted server for what the client
 * asked (some know only `float`). A server that ignores the ask is read either way.
 */
import type { AnswerBody } from '../../core/answer-body';
import { EMBEDDING_ANSWER_BYTES_PER_INPUT, MAX_EMBEDDING_INPUTS, type EmbeddingsCall, type EmbeddingVector, type ForwardedEmbeddings } from '../../core/embeddings';
import { BATCHES_HEADER } from '../../core/gateway-headers';
import { dimensionsOf, isFloat32Base64, isNumberArray } from '../../core/float32';
import type { EndpointConfig, ProviderConfig } from '../../config/schema';
import { estimateInputTokens } from '../../quota/token-estimate';
import { scanOf, type Scan } from '../byte-scan';
import { ProviderError } from '../errors';
import { header, type UpstreamHeaders } from '../http';
import type { CallOptions, EmbeddingsAdapter, EmbeddingsResult, ForwardedEmbeddingsResult, Route, UpstreamMeta } from '../types';
import type { UpstreamCall } from '../upstream-call';

export interface OpenAIEmbeddingsDeps {
  upstream: UpstreamCall;
  /** The endpoint's base URL (ending in /v1). */
  baseUrl: (endpoint: EndpointConfig) => string;
  /** Rate limits and a spoke's own route and attempts, from the answer's headers. */
  metaOf: (res: { headers: UpstreamHeaders }) => UpstreamMeta;
}

export function createOpenAIEmbeddings(provider: ProviderConfig, deps: OpenAIEmbeddingsDeps): EmbeddingsAdapter {
  const compatible = provider.type === 'openai-compatible';
  const urls = new WeakMap<EndpointConfig, string>();
  const urlOf = (endpoint: EndpointConfig): string => {
    let url = urls.get(endpoint);
    if (url === undefined) urls.set(endpoint, (url = `${deps.baseUrl(endpoint)}/embeddings`));
    return url;
  };

  return {
    batchLimit: () => MAX_EMBEDDING_INPUTS,
    // Text and token ids alike; the server judges the model's dimensions itself.
    refusal: () => undefined,

    async embed(route: Route, call: EmbeddingsCall, opts: CallOptions): Promise<EmbeddingsResult> {
      const wire = compatible ? call.encoding : 'base64';
      const request = JSON.stringify(upstreamBody(route.model, call, wire, compatible));
      const { answer } = await deps.upstream.post(route, urlOf(route.endpoint), request, opts, undefined, call.inputs.items.length * EMBEDDING_ANSWER_BYTES_PER_INPUT);
      const meta = deps.metaOf(answer);
      // The request's only batch, answered in the client's encoding: checked, and passed on as it came.
      if (call.whole && wire === call.encoding) {
        const body = answer.parts ?? answer.text;
        const tokens = wholeAnswerTokens(body, call);
        if (tokens !== undefined) return { body, promptTokens: tokens, model: route.model, ...meta };
      }
      return readAnswer(answer.text, route, call, meta);
    },

    async forward(route: Route, request: ForwardedEmbeddings, opts: CallOptions): Promise<ForwardedEmbeddingsResult> {
      const { answer } = await deps.upstream.post(route, urlOf(route.endpoint), request.body, opts, undefined, request.inputs * EMBEDDING_ANSWER_BYTES_PER_INPUT);
      const body = answer.parts ?? answer.text;
      const batches = Number(header(answer, BATCHES_HEADER));
      return {
        body,
        promptTokens: usageAtEnd(scanOf(body)) ?? forwardedPromptTokens(answer.text, route),
        ...deps.metaOf(answer),
        ...(Number.isInteger(batches) && batches > 0 ? { upstreamBatches: batches } : {}),
      };
    },
  };
}

/** The request for one batch. Self-hosted servers get no `user` (as for chat) and OpenAI's default encoding unless base64 was asked. */
function upstreamBody(model: string, call: EmbeddingsCall, wire: 'float' | 'base64', compatible: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { model, input: call.inputs.items };
  if (wire === 'base64') body.encoding_format = 'base64';
  if (call.dimensions !== undefined) body.dimensions = call.dimensions;
  if (call.user !== undefined && !compatible) body.user = call.user;
  return body;
}

interface WireAnswer {
  object?: unknown;
  data?: unknown;
  model?: unknown;
  usage?: { prompt_tokens?: unknown; total_tokens?: unknown } | null;
}

/** The answer's vectors in input order, checked: one per input, numbers or base64 float32, one size. */
function readAnswer(text: string, route: Route, call: EmbeddingsCall, meta: UpstreamMeta): EmbeddingsResult {
  let doc: WireAnswer;
  try {
    doc = JSON.parse(text) as WireAnswer;
  } catch {
    throw invalid(route, `not JSON: ${JSON.stringify(text.trim().slice(0, 120))}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(route, 'not a JSON object');
  if (doc.object !== undefined && doc.object !== 'list') throw invalid(route, `object is ${JSON.stringify(doc.object)}`);
  const count = call.inputs.items.length;
  if (!Array.isArray(doc.data) || doc.data.length !== count) throw invalid(route, `${Array.isArray(doc.data) ? doc.data.length : 'no'} embeddings for ${count} inputs`);
  const vectors = new Array<EmbeddingVector>(count);
  for (let i = 0; i < count; i++) {
    const item = doc.data[i] as { index?: unknown; embedding?: unknown } | null;
    const at = typeof item?.index === 'number' ? item.index : i;
    if (!Number.isInteger(at) || at < 0 || at >= count || vectors[at] !== undefined) throw invalid(route, `data[${i}] has index ${JSON.stringify(item?.index)}`);
    const e = item?.embedding;
    if (typeof e === 'string' && isFloat32Base64(e)) vectors[at] = e;
    else if (Array.isArray(e) && isNumberArray(e)) vectors[at] = e;
    else throw invalid(route, `data[${i}].embedding is neither numbers nor base64 float32`);
  }
  const dims = dimensionsOf(vectors[0]);
  if (dims === 0 || vectors.some((v) => dimensionsOf(v) !== dims)) throw invalid(route, 'vectors of different sizes (or empty)');
  // A server that ignored `dimensions` gave the wrong vectors for this request: another route may honour it.
  if (call.dimensions !== undefined && dims !== call.dimensions) throw invalid(route, `${dims} dimensions where ${call.dimensions} were asked`);
  const reported = doc.usage?.prompt_tokens;
  const whole = typeof reported === 'number' && reported >= 0 && typeof doc.usage?.total_tokens === 'number';
  const model = typeof doc.model === 'string' ? doc.model : route.model;
  return { vectors, promptTokens: whole ? reported : estimateInputTokens(call.inputs), model, ...meta };
}

/** A spoke's answer whose usage was not at its end (not written by a gateway): parsed whole for it. */
function forwardedPromptTokens(text: string, route: Route): number | undefined {
  let doc: WireAnswer;
  try {
    doc = JSON.parse(text) as WireAnswer;
  } catch {
    throw invalid(route, `not JSON: ${JSON.stringify(text.trim().slice(0, 120))}`);
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.data)) throw invalid(route, 'not an embeddings answer');
  const reported = doc.usage?.prompt_tokens;
  return typeof reported === 'number' ? reported : undefined;
}

function invalid(route: Route, detail: string): ProviderError {
  return new ProviderError('transient', `${route.key}: upstream answered with invalid embeddings: ${detail}`);
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** `usage` as OpenAI, vLLM, Ollama and the gateway write it: the answer's last member. */
const USAGE_AT_END = /"usage"\s*:\s*\{\s*"prompt_tokens"\s*:\s*(\d+)\s*,\s*"total_tokens"\s*:\s*\d+\s*\}\s*\}\s*$/;

function usageAtEnd(s: Scan): number | undefined {
  const m = USAGE_AT_END.exec(s.slice(Math.max(0, s.length - 160), s.length));
  return m ? Number(m[1]) : undefined;
}

/**
 * The prompt tokens of a whole answer that can go to the client as it came, checked
 * without parsing its vectors (they are most of it: parsing, decoding and encoding them
 * again cost more than the rest of the request): a JSON object, one `embedding` per
 * input, `usage` last, the first vector in the encoding and of the size the client asked
 * for. Undefined when any of that is not so: the answer is then parsed whole.
 */
function wholeAnswerTokens(body: AnswerBody, call: EmbeddingsCall): number | undefined {
  const s = scanOf(body);
  let start = 0;
  while (isSpace(s.code(start))) start++;
  if (s.code(start) !== 0x7b /* { */) return undefined;
  const tokens = usageAtEnd(s);
  if (tokens === undefined) return undefined;
  let keys = 0;
  let first = -1;
  for (let at = s.find('"embedding"', start); at >= 0; at = s.find('"embedding"', at + 11)) {
    let i = at + 11;
    while (isSpace(s.code(i))) i++;
    if (s.code(i) !== 0x3a /* : */) continue; // "object": "embedding"
    i++;
    while (isSpace(s.code(i))) i++;
    keys++;
    if (first < 0) first = i;
  }
  if (keys !== call.inputs.items.length) return undefined;
  const dims = vectorSizeAt(s, first, call.encoding);
  if (dims === undefined || (call.dimensions !== undefined && dims !== call.dimensions)) return undefined;
  return tokens;
}

/** The size of the vector whose value starts at `at`, when it is written in `encoding`. */
function vectorSizeAt(s: Scan, at: number, encoding: EmbeddingsCall['encoding']): number | undefined {
  if (encoding === 'base64') {
    if (s.code(at) !== 0x22 /* " */) return undefined;
    const end = s.find('"', at + 1);
    const text = end < 0 ? '' : s.slice(end - 2, end);
    const length = end - at - 1;
    const dims = ((length / 4) * 3 - (text === '==' ? 2 : text.endsWith('=') ? 1 : 0)) / 4;
    return length > 0 && length % 4 === 0 && Number.isInteger(dims) ? dims : undefined;
  }
  if (s.code(at) !== 0x5b /* [ */) return undefined;
  const end = s.find(']', at);
  if (end < 0) return undefined;
  let commas = 0;
  for (let i = at + 1; i < end; i++) if (s.code(i) === 0x2c) commas++;
  return end > at + 1 ? commas + 1 : undefined;
}
