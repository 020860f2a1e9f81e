/** A one-minute sliding window of request and token counts for the simulated provider's own quota. */
const WINDOW_MS = 60_000;

export class MinuteWindow {
  private readonly events: Array<{ at: number; tokens: number }> = [];
  private tokens = 0;

  private trim(now: number): void {
    while (this.events.length > 0 && this.events[0].at <= now - WINDOW_MS) this.tokens -= this.events.shift()!.tokens;
  }

  /** Ms until a request of `tokens` fits under the limits; 0 when it fits now. */
  waitMs(now: number, rpm: number | undefined, tpm: number | undefined, tokens: number): number {
    this.trim(now);
    let wait = 0;
    if (rpm !== undefined && this.events.length >= rpm) {
      wait = Math.max(wait, this.events[this.events.length - rpm].at + WINDOW_MS - now);
    }
    if (tpm !== undefined && this.tokens + tokens > tpm) {
      let freed = 0;
      for (const e of this.events) {
        freed += e.tokens;
        if (this.tokens - freed + tokens <= tpm) {
          wait = Math.max(wait, e.at + WINDOW_MS - now);
          break;
        }
      }
      if (this.tokens - freed + tokens > tpm) wait = Math.max(wait, WINDOW_MS);
    }
    return wait;
  }

  record(now: number, tokens: number): void {
    this.events.push({ at: now, tokens });
    this.tokens += tokens;
  }
}
