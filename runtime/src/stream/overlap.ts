/**
 * A continuation may repeat what the client already has: the end of it (the model picks
 * up a little early) or all of it (the model starts over). The repeated part is dropped.
 */
export function overlapLength(sent: string, next: string, window = Infinity): number {
  const max = Math.min(sent.length, next.length, window);
  for (let k = max; k > 0; k--) {
    if (sent.endsWith(next.slice(0, k))) return k;
  }
  return 0;
}

/**
 * Holds back the start of a continuation until it can tell how much of it repeats the
 * sent text (enough text seen, or the stream ended), then lets everything through.
 */
export class OverlapTrimmer {
  private held = '';
  private decided = false;

  constructor(
    private readonly sent: string,
    private readonly window = Math.min(sent.length, 400),
  ) {}

  /** Text to pass on now for this piece (may be empty while undecided). */
  push(piece: string): string {
    if (this.decided) return piece;
    this.held += piece;
    // Still a word-for-word restart of the answer: hold it (it is dropped).
    if (this.sent.startsWith(this.held)) return '';
    if (this.held.startsWith(this.sent)) return this.decide(this.held.slice(this.sent.length));
    if (this.held.length < this.window && !this.canDecideEarly()) return '';
    return this.flush();
  }

  /** The stream ended: decide with what there is. */
  flush(): string {
    if (this.decided) return '';
    if (this.sent.startsWith(this.held)) return this.decide('');
    if (this.held.startsWith(this.sent)) return this.decide(this.held.slice(this.sent.length));
    return this.decide(this.held.slice(overlapLength(this.sent, this.held, this.window)));
  }

  private decide(out: string): string {
    this.decided = true;
    this.held = '';
    return out;
  }

  /** No suffix of `sent` can start the held text: nothing to trim. */
  private canDecideEarly(): boolean {
    const h = this.held;
    for (let i = Math.max(0, this.sent.length - this.window); i < this.sent.length; i++) {
      const tail = this.sent.slice(i);
      if (tail.startsWith(h) || h.startsWith(tail)) return false;
    }
    return true;
  }
}
