/** Fixed usage for fake answers, so a test knows what each answer costs. */
import type { FakeOpenAIOptions } from '../fakes/openai';

export interface FixedUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

export function usage(prompt: number, completion: number, cached?: number): FixedUsage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...(cached ? { prompt_tokens_details: { cached_tokens: cached } } : {}) };
}

/** Fake options whose JSON answers and stream usage chunks report `u`. */
export function reporting(u: FixedUsage): Pick<FakeOpenAIOptions, 'editCompletion' | 'editFrames'> {
  return {
    editCompletion: (c) => ({ ...c, usage: u }),
    editFrames: (frames) =>
      frames.map((f) => {
        if (!f.startsWith('data: {') || !f.includes('"usage":{')) return f;
        const doc = JSON.parse(f.slice(6)) as Record<string, unknown>;
        return `data: ${JSON.stringify({ ...doc, usage: u })}\n\n`;
      }),
  };
}

/** USD per million tokens, as in config. */
export const perMTok = (n: number) => n / 1e6;

/** Two targets of one logical model `chat`: providers `cheap` and `dear`. */
export const CHEAP = { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.5 };
export const DEAR = { inputPerMTok: 10, outputPerMTok: 30 };
export const PRICED_CHAT = {
  name: 'chat',
  targets: [
    { provider: 'cheap', model: 'small', price: CHEAP },
    { provider: 'dear', model: 'large', price: DEAR },
  ],
};
