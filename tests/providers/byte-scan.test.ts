/**
 * The scan an embeddings answer passed on as it came is checked with: over the parts the
 * HTTP client read (never joined) it reads exactly what it reads over the whole text,
 * wherever the parts happen to split it, a needle cut in two or three included.
 */
import { expect } from '@jest/globals';
import { scanOf } from '../../runtime/src/providers/byte-scan';

const TEXT =
  '{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPwAAAEA="},' +
  '{"object":"embedding","index":1,"embedding":[0.5,-1.25]}],"model":"m","usage":{"prompt_tokens":7,"total_tokens":7}}';
const NEEDLES = ['"embedding"', '"', ']', '"usage"', 'absent-needle'];

/** TEXT cut at the given points, as latin1 bytes, with an empty part where `empty` is set. */
function partsOf(cuts: number[], empty = false): Uint8Array[] {
  const points = [0, ...cuts, TEXT.length];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < points.length - 1; i++) {
    parts.push(Buffer.from(TEXT.slice(points[i], points[i + 1]), 'latin1'));
    if (empty) parts.push(new Uint8Array(0));
  }
  return parts;
}

/** Every way of reading the whole, compared with the text's own answers: the differences (none expected). */
function differences(parts: Uint8Array[]): string[] {
  const scan = scanOf(parts);
  const found: string[] = [];
  if (scan.length !== TEXT.length) found.push(`length ${scan.length}`);
  for (let i = -1; i <= TEXT.length; i++) if (!Object.is(scan.code(i), TEXT.charCodeAt(i))) found.push(`code(${i})`);
  for (const needle of NEEDLES) for (let from = -2; from <= TEXT.length + 1; from++) if (scan.find(needle, from) !== TEXT.indexOf(needle, from)) found.push(`find(${needle}, ${from})`);
  for (const [a, b] of [
    [0, TEXT.length],
    [TEXT.length - 160, TEXT.length],
    [5, 6],
    [40, 90],
    [90, 40],
    [-3, 12],
  ])
    if (scan.slice(a, b) !== TEXT.slice(Math.max(0, a), b)) found.push(`slice(${a}, ${b})`);
  return found;
}

/** The differences of each way of cutting TEXT, by its cut points. */
function differencesOf(cutsList: number[][], empty = false): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const cuts of cutsList) {
    const d = differences(partsOf(cuts, empty));
    if (d.length > 0) out[cuts.join(',')] = d;
  }
  return out;
}

describe('scanOf over the parts of an answer', () => {
  it('reads as the whole text does when cut in two at every point', () => {
    const cuts = Array.from({ length: TEXT.length - 1 }, (_, i) => [i + 1]);
    expect(differencesOf(cuts)).toEqual({});
  });

  it('reads as the whole text does in parts of 1, 2, 3, 7 and 11 bytes (needles across three parts), with empty parts between', () => {
    const cutsList = [1, 2, 3, 7, 11].map((size) => Array.from({ length: Math.ceil(TEXT.length / size) - 1 }, (_, i) => (i + 1) * size));
    expect(differencesOf(cutsList)).toEqual({});
    expect(differencesOf(cutsList, true)).toEqual({});
  });

  it('reads the text itself when the HTTP client gave text', () => {
    const scan = scanOf(TEXT);
    expect([scan.length, scan.find('"embedding"', 30), scan.slice(0, 9), scan.code(TEXT.length)]).toEqual([TEXT.length, TEXT.indexOf('"embedding"', 30), '{"object"', NaN]);
  });

  it('an answer with no bytes at all finds nothing', () => {
    const scan = scanOf([]);
    expect([scan.length, scan.find('"', 0), scan.slice(0, 4), scan.code(0)]).toEqual([0, -1, '', NaN]);
  });
});
