/**
 * What an answer cost, as the x-gateway-cost-usd header, the log line and the budgets carry
 * it: the amount itself, not binary float noise (8,500 tokens' worth at $1 a million is
 * 0.0085, where multiplying by 1e-6 gave 0.008499999999999999).
 */
import { costOf, estimatedCost, worstCaseCost } from '../../runtime/src/core/price';

describe('prices', () => {
  const price = { inputPerMTok: 2.5, outputPerMTok: 10, cacheWritePerMTok: 3.75 };

  it('come out as the decimal amount they are', () => {
    expect(String(costOf(price, { prompt_tokens: 1000, completion_tokens: 600 }))).toBe('0.0085');
    expect(String(estimatedCost(price, 1000, 600))).toBe('0.0085');
    // The worst case holds the prompt at the cache-write rate: 3,750 + 6,000 millionths.
    expect(String(worstCaseCost(price, 1000, 600))).toBe('0.00975');
  });
});
