/**
 * Prices in USD per million tokens (config `models[].targets[].price`), and what an
 * answer cost from its real usage: cached input at the cached rate when the usage
 * reports cached tokens (`prompt_tokens_details.cached_tokens`), cache writes
 * (`cache_write_tokens`) at the cache-write rate, the rest at the input rate.
 */
import type { Usage } from './openai-types';

export interface Price {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
  /** Input read from the provider's prompt cache; the input rate when not given. */
  readonly cachedInputPerMTok?: number;
  /** Input written to the provider's prompt cache; the input rate when not given. */
  readonly cacheWritePerMTok?: number;
}

/** Rates are per million tokens. Divided by, not multiplied by 1e-6 (inexact in binary): 8,500 tokens' worth is 0.0085, not 0.008499999999999999. */
const TOKENS_PER_RATE = 1e6;

export function costOf(price: Price, usage: Pick<Usage, 'prompt_tokens' | 'completion_tokens' | 'prompt_tokens_details'>): number {
  const prompt = finite(usage.prompt_tokens);
  const cached = Math.min(prompt, finite(usage.prompt_tokens_details?.cached_tokens));
  const written = Math.min(prompt - cached, finite(usage.prompt_tokens_details?.cache_write_tokens));
  return (
    ((prompt - cached - written) * price.inputPerMTok + cached * cachedInputRate(price) + written * cacheWriteRate(price) + finite(usage.completion_tokens) * price.outputPerMTok) /
    TOKENS_PER_RATE
  );
}

/** Input read from the prompt cache, per million tokens. */
export function cachedInputRate(price: Price): number {
  return price.cachedInputPerMTok ?? price.inputPerMTok;
}

/** Input written to the prompt cache, per million tokens. */
export function cacheWriteRate(price: Price): number {
  return price.cacheWritePerMTok ?? price.inputPerMTok;
}

/** The most one prompt token can cost: the input rate, or the cache-write rate when that is dearer (what a budget holds). */
export function worstPromptRate(price: Price): number {
  return Math.max(price.inputPerMTok, price.cacheWritePerMTok ?? 0);
}

/** What `input` prompt tokens and `output` completion tokens would cost, none of them cached. */
export function estimatedCost(price: Price, input: number, output: number): number {
  return (input * price.inputPerMTok + output * price.outputPerMTok) / TOKENS_PER_RATE;
}

/** The most they could cost: the input all written to the prompt cache, when that is dearer (a budget's hold). */
export function worstCaseCost(price: Price, input: number, output: number): number {
  return (input * worstPromptRate(price) + output * price.outputPerMTok) / TOKENS_PER_RATE;
}

function finite(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}
