/**
 * A continuation may repeat the end of what the client already has. The overlap is the
 * longest suffix of the sent text that the new text starts with; it is dropped.
 */
export function overlapLength(sent: string, next: string): number {
  const max = Math.min(sent.length, next.length);
  for (let k = max; k > 0; k--) {
    if (sent.endsWith(next.slice(0, k))) return k;
  }
  return 0;
}

/**
 * Holds back the start of a continuation until it can tell the overlap (enough text seen,
 * or the stream ended), then lets everything through.
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
    if (this.held.length < this.window && !this.canDecideEarly()) return '';
    return this.flush();
  }

  /** The stream ended: decide with what there is. */
  flush(): string {
    if (this.decided) return '';
    this.decided = true;
    const out = this.held.slice(overlapLength(this.sent, this.held));
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
