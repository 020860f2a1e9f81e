/**
 * POST /v1/embeddings of the fake OpenAI server (fakes/openai.ts): OpenAI's request
 * checks and answer shape, vectors made from the model and each input (so equal inputs
 * get equal vectors), `float` as float32 text (nine digits) and `base64` as little-endian
 * float32 bytes, usage counted per input.
 */
import { fakeVector, vectorBase64, vectorJson } from './vectors';

export interface FakeEmbeddingsOptions {
  /** Answer floats whatever `encoding_format` says (older Ollama). */
  floatOnly?: boolean;
  /** Leave `usage` out (some self-hosted servers). */
  noUsage?: boolean;
  /** Indented JSON, as api.openai.com writes it. */
  pretty?: boolean;
}

export type EmbeddingsOutcome = { ok: true; text: string } | { ok: false; status: number; message: string; param: string | null; code: string | null };

const INVALID_INPUT = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.";

/** Native sizes of OpenAI's embeddings models (others: 1536). */
const NATIVE: Record<string, number> = { 'text-embedding-3-large': 3072, 'text-embedding-3-small': 1536, 'text-embedding-ada-002': 1536 };

const refuse = (message: string, param: string | null = null, code: string | null = null): EmbeddingsOutcome => ({ ok: false, status: 400, message, param, code });

/** The seed text of one input: its string, or its token ids. */
function seedOf(item: unknown): string | undefined {
  if (typeof item === 'string') return item === '' ? undefined : item;
  if (Array.isArray(item) && item.length > 0 && item.every((t) => Number.isInteger(t) && (t as number) >= 0)) return `tokens:${item.join(',')}`;
  return undefined;
}

/** One input per entry, as OpenAI reads `input`. */
function itemsOf(input: unknown): unknown[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  return typeof input[0] === 'number' ? [input] : (input as unknown[]);
}

export function fakeEmbeddings(body: unknown, opts: FakeEmbeddingsOptions): EmbeddingsOutcome {
  if (typeof body !== 'object' || body === null) return refuse('We could not parse the JSON body of your request.');
  const b = body as { model?: unknown; input?: unknown; encoding_format?: unknown; dimensions?: unknown };
  if (typeof b.model !== 'string') return refuse('you must provide a model parameter');
  if (b.input === undefined) return refuse("'input' is a required property");
  const items = itemsOf(b.input);
  if (!items || items.length > 2048) return refuse(INVALID_INPUT);
  const seeds = items.map(seedOf);
  if (seeds.some((s) => s === undefined)) return refuse(INVALID_INPUT);
  const format = b.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') return refuse(`'${JSON.stringify(format)}' is not one of ['float', 'base64'] - 'encoding_format'`, 'encoding_format');
  const native = NATIVE[b.model] ?? 1536;
  let dims = native;
  if (b.dimensions !== undefined && b.dimensions !== null) {
    if (b.model === 'text-embedding-ada-002') return refuse('This model does not support specifying dimensions.', 'dimensions');
    if (!Number.isInteger(b.dimensions) || (b.dimensions as number) < 1 || (b.dimensions as number) > native)
      return refuse(`Invalid 'dimensions': must be between 1 and ${native}.`, 'dimensions');
    dims = b.dimensions as number;
  }
  const base64 = format === 'base64' && !opts.floatOnly;
  const data = seeds.map((seed, index) => {
    // Shortened embeddings: the first values of the model's own vector, normalized again.
    const full = fakeVector(`${b.model as string}\n${seed!}`, native);
    const v = dims === native ? full : renormalized(full.slice(0, dims));
    return `{"object":"embedding","index":${index},"embedding":${base64 ? `"${vectorBase64(v)}"` : vectorJson(v)}}`;
  });
  const tokens = items.reduce<number>((n, item) => n + (typeof item === 'string' ? Math.ceil(item.length / 4) : (item as unknown[]).length), 0);
  const usage = opts.noUsage ? '' : `,"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}`;
  const text = `{"object":"list","data":[${data.join(',')}],"model":${JSON.stringify(b.model)}${usage}}`;
  return { ok: true, text: opts.pretty ? JSON.stringify(JSON.parse(text), null, 2) : text };
}

function renormalized(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => Math.fround(x / norm));
}
