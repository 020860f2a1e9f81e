/**
 * Requests and tokens over the last minute in one-second buckets, without keeping an
 * entry per request for a minute (garbage the GC pays for): the use of a route with no
 * rpm/tpm limit, and of each capacity class on a route (/status).
 */
export class UsageBuckets {
  private readonly seconds = new Int32Array(60).fill(-1);
  private readonly requests = new Float64Array(60);
  private readonly tokens = new Float64Array(60);

  add(now: number, requests: number, tokens: number): void {
    const second = Math.floor(now / 1000);
    const i = second % 60;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.requests[i] = 0;
      this.tokens[i] = 0;
    }
    this.requests[i] += requests;
    this.tokens[i] += tokens;
  }

  totals(now: number): { requests: number; tokens: number } {
    const oldest = Math.floor(now / 1000) - 59;
    let requests = 0;
    let tokens = 0;
    for (let i = 0; i < 60; i++) {
      if (this.seconds[i] >= oldest) {
        requests += this.requests[i];
        tokens += this.tokens[i];
      }
    }
    return { requests, tokens };
  }
}
