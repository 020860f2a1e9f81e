/**
 * An answer as it came (text, or the parts the HTTP client read it in), read a character
 * at a time without joining or decoding it: the checks of an answer passed on as it came
 * touch a few hundred characters, and joining half a megabyte of vectors into one buffer
 * cost more than the rest of the request (bench/analysis.md).
 */
import type { AnswerBody } from '../core/answer-body';

export interface Scan {
  readonly length: number;
  /** The character (text) or byte (parts) at `i`; NaN outside the answer. */
  code(i: number): number;
  /** Where the ASCII `needle` starts, at or after `from`; -1 when nowhere. */
  find(needle: string, from: number): number;
  /** From `from` to `to` as text (parts: their bytes as latin1). */
  slice(from: number, to: number): string;
}

export function scanOf(body: AnswerBody): Scan {
  if (typeof body === 'string') return { length: body.length, code: (i) => body.charCodeAt(i), find: (n, from) => body.indexOf(n, from), slice: (from, to) => body.slice(from, to) };
  return new PartsScan(body);
}

/** The needles' bytes, made once (a handful of distinct ones). */
const NEEDLES = new Map<string, Buffer>();
const needleBytes = (needle: string) => NEEDLES.get(needle) ?? NEEDLES.set(needle, Buffer.from(needle, 'latin1')).get(needle)!;

class PartsScan implements Scan {
  readonly length: number;
  private readonly parts: Buffer[];
  /** Where each part starts in the whole answer. */
  private readonly starts: number[];

  constructor(parts: readonly Uint8Array[]) {
    this.parts = parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
    let at = 0;
    this.starts = this.parts.map((p) => {
      const start = at;
      at += p.length;
      return start;
    });
    this.length = at;
  }

  code(i: number): number {
    if (!(i >= 0 && i < this.length)) return NaN;
    const k = this.partAt(i);
    return this.parts[k][i - this.starts[k]];
  }

  find(needle: string, from: number): number {
    const n = needleBytes(needle);
    const first = Math.max(0, from);
    if (first >= this.length) return -1;
    for (let k = this.partAt(first); k < this.parts.length; k++) {
      const part = this.parts[k];
      const local = Math.max(0, first - this.starts[k]);
      const hit = part.indexOf(n, local);
      if (hit >= 0) return this.starts[k] + hit;
      // Not whole in this part: one that begins in its last bytes and ends in the next.
      for (let t = Math.max(local, part.length - n.length + 1); t < part.length; t++) if (this.matchesAt(this.starts[k] + t, n)) return this.starts[k] + t;
    }
    return -1;
  }

  slice(from: number, to: number): string {
    const a = Math.max(0, from);
    const b = Math.min(this.length, to);
    if (a >= b) return '';
    let text = '';
    for (let k = this.partAt(a); k < this.parts.length && this.starts[k] < b; k++) {
      const start = this.starts[k];
      text += this.parts[k].toString('latin1', Math.max(0, a - start), Math.min(this.parts[k].length, b - start));
    }
    return text;
  }

  /** The part that holds byte `i` (0 <= i < length): the last one starting at or before it. */
  private partAt(i: number): number {
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private matchesAt(at: number, needle: Buffer): boolean {
    for (let j = 0; j < needle.length; j++) if (this.code(at + j) !== needle[j]) return false;
    return true;
  }
}
