/**
 * Client-side load for chaos tests: real OpenAI SDK calls against the gateway, each
 * turned into what the client saw (status, route, attempts, text), run by a fixed number
 * of concurrent workers. Bounded loops only.
 */
import type OpenAI from 'openai';

export interface Outcome {
  /** Index of the call in the run. */
  i: number;
  ok: boolean;
  /** HTTP status the client got (200 on success). */
  status: number;
  route?: string;
  attempts?: number;
  text: string;
  /** The `model` the answer named. */
  model?: string;
  error?: string;
  errorCode?: string;
}

export interface AskOptions {
  stream?: boolean;
  model?: string;
  content?: string;
  maxTokens?: number;
}

/** One chat completion through the real SDK, streamed or not; never throws. */
export async function ask(client: OpenAI, i: number, opts: AskOptions = {}): Promise<Outcome> {
  const params = {
    model: opts.model ?? 'chat',
    messages: [{ role: 'user' as const, content: opts.content ?? `request ${i}` }],
    ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
  };
  try {
    if (opts.stream) {
      const { data, response } = await client.chat.completions.create({ ...params, stream: true }).withResponse();
      let text = '';
      let model: string | undefined;
      for await (const c of data) {
        text += c.choices[0]?.delta.content ?? '';
        model = c.model || model;
      }
      return { i, ok: true, status: response.status, ...routeOf(response.headers), text, model };
    }
    const { data, response } = await client.chat.completions.create(params).withResponse();
    return { i, ok: true, status: response.status, ...routeOf(response.headers), text: data.choices[0]?.message.content ?? '', model: data.model };
  } catch (err) {
    const e = err as { status?: number; message?: string; code?: string | null; headers?: Headers };
    return {
      i,
      ok: false,
      status: typeof e.status === 'number' ? e.status : 0,
      ...(e.headers ? routeOf(e.headers) : {}),
      text: '',
      error: e.message ?? String(err),
      errorCode: e.code ?? undefined,
    };
  }
}

function routeOf(h: Headers): { route?: string; attempts?: number } {
  const route = h.get('x-gateway-route') ?? undefined;
  const attempts = h.get('x-gateway-attempts');
  return { route, attempts: attempts === null ? undefined : Number(attempts) };
}

/** Runs `total` calls with `workers` of them in flight at a time; results in call order. */
export async function runLoad<T>(workers: number, total: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      out[i] = await one(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, total) }, worker));
  return out;
}

export function countBy<T>(items: readonly T[], key: (t: T) => string | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of items) {
    const k = key(t) ?? '(none)';
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

export { sleep, until } from '../helpers/until';

/** Failed outcomes, short enough to read in a failed assertion. */
export function failures(outcomes: readonly Outcome[]): string[] {
  return outcomes.filter((o) => !o.ok).map((o) => `#${o.i} ${o.status} ${o.errorCode ?? ''} ${o.error ?? ''}`.slice(0, 300));
}
