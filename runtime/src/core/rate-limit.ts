/** What a provider said about remaining capacity (rate-limit headers), in ms from now. */
export interface RateLimitInfo {
  limitRequests?: number;
  remainingRequests?: number;
  resetRequestsMs?: number;
  limitTokens?: number;
  remainingTokens?: number;
  resetTokensMs?: number;
}

/**
 * Whether a 429 that said `info` refused a request of `tokens` (estimated) for its size
 * alone: requests and tokens are left, only fewer tokens than it needs.
 */
export function refusedForSize(info: RateLimitInfo, tokens: number): boolean {
  const left = info.remainingTokens;
  return left !== undefined && left > 0 && left < tokens && info.remainingRequests !== 0;
}
