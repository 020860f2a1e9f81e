/**
 * Embeddings on `openai` and `openai-compatible` providers (vLLM, Ollama), and the
 * proxy's spokes: POST {base}/embeddings. Their wire format is the client's, so requests
 * go almost as they came and answers are checked, not translated. OpenAI is asked for
 * base64 (a quarter of the text, exact float32); a self-hosted server for what the client
 * asked (some know only `float`). A server that ignores the ask is read either way.
 */
import type { EmbeddingsCall, EmbeddingVector, ForwardedEmbeddings } from '../../core/embeddings';
import { BATCHES_HEADER } from '../../core/gateway-headers';
import { dimensionsOf, isFloat32Base64, isNumberArray } from '../../core/float32';
import type { EndpointConfig, ProviderConfig } from '../../config/schema';
import { estimateInputTokens } from '../../quota/token-estimate';
import { ProviderError } from '../errors';
import { header, type UpstreamHeaders } from '../http';
import type { CallOptions, EmbeddingsAdapter, EmbeddingsResult, ForwardedEmbeddingsResult, Route, UpstreamMeta } from '../types';
import type { UpstreamCall } from '../upstream-call';

/** OpenAI's limit on inputs per request. */
const BATCH_LIMIT = 2048;

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
    batchLimit: () => BATCH_LIMIT,
    // Text and token ids alike; the server judges the model's dimensions itself.
    refusal: () => undefined,

    async embed(route: Route, call: EmbeddingsCall, opts: CallOptions): Promise<EmbeddingsResult> {
      const wire = compatible ? call.encoding : 'base64';
      const { answer } = await deps.upstream.post(route, urlOf(route.endpoint), JSON.stringify(upstreamBody(route.model, call, wire, compatible)), opts);
      return readAnswer(answer.text, route, call, deps.metaOf(answer));
    },

    async forward(route: Route, request: ForwardedEmbeddings, opts: CallOptions): Promise<ForwardedEmbeddingsResult> {
      const { answer } = await deps.upstream.post(route, urlOf(route.endpoint), request.body, opts);
      const text = answer.text;
      const batches = Number(header(answer, BATCHES_HEADER));
      return {
        body: text,
        promptTokens: forwardedPromptTokens(text, route),
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
  let inOrder = true;
  let asAsked = true;
  for (let i = 0; i < count; i++) {
    const item = doc.data[i] as { index?: unknown; embedding?: unknown } | null;
    const at = typeof item?.index === 'number' ? item.index : i;
    if (!Number.isInteger(at) || at < 0 || at >= count || vectors[at] !== undefined) throw invalid(route, `data[${i}] has index ${JSON.stringify(item?.index)}`);
    const e = item?.embedding;
    if (typeof e === 'string' && isFloat32Base64(e)) vectors[at] = e;
    else if (Array.isArray(e) && isNumberArray(e)) vectors[at] = e;
    else throw invalid(route, `data[${i}].embedding is neither numbers nor base64 float32`);
    if (at !== i) inOrder = false;
    if ((typeof e === 'string') !== (call.encoding === 'base64')) asAsked = false;
  }
  const dims = dimensionsOf(vectors[0]);
  if (dims === 0 || vectors.some((v) => dimensionsOf(v) !== dims)) throw invalid(route, 'vectors of different sizes (or empty)');
  // A server that ignored `dimensions` gave the wrong vectors for this request: another route may honour it.
  if (call.dimensions !== undefined && dims !== call.dimensions) throw invalid(route, `${dims} dimensions where ${call.dimensions} were asked`);
  const reported = doc.usage?.prompt_tokens;
  const whole = typeof reported === 'number' && reported >= 0 && typeof doc.usage?.total_tokens === 'number';
  const model = typeof doc.model === 'string' ? doc.model : route.model;
  const result: EmbeddingsResult = { vectors, promptTokens: whole ? reported : estimateInputTokens(call.inputs), model, ...meta };
  // As the server sent it (the usual case): its own text goes to the client unchanged.
  if (inOrder && asAsked && whole && typeof doc.model === 'string') result.body = text;
  return result;
}

/**
 * A spoke's usage, read from the end of its answer (the gateway writes `usage` last), so
 * that the proxy does not parse the vectors; any other answer is parsed whole.
 */
function forwardedPromptTokens(text: string, route: Route): number | undefined {
  const tail = /"usage":\{"prompt_tokens":(\d+),"total_tokens":\d+\}\}\s*$/.exec(text.slice(-96));
  if (tail) return Number(tail[1]);
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
