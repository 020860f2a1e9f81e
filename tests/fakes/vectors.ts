/**
 * Deterministic embedding vectors for the fake providers, made independently of the
 * gateway's code: float32 values from a seeded generator, written the way the providers
 * write them (shortest float32 text for JSON numbers, little-endian float32 bytes for base64).
 */
import { createHash } from 'node:crypto';

/** `dims` float32 values from `seed`; a unit vector unless `normalize` is false. */
export function fakeVector(seed: string, dims: number, normalize = true): number[] {
  const out: number[] = [];
  let block = Buffer.alloc(0);
  for (let counter = 0; out.length < dims; counter++) {
    if (block.length < 4) block = createHash('sha256').update(`${seed}\n${counter}`).digest();
    // 16 bits of hash each: a value in [-1, 1).
    out.push(block.readUInt16LE(0) / 32768 - 1);
    block = block.subarray(2);
  }
  const norm = Math.sqrt(out.reduce((s, x) => s + x * x, 0));
  const scale = normalize ? 1 / norm : 3;
  return out.map((x) => Math.fround(x * scale));
}

/** The shortest decimal text that reads back as this float32 value (how providers print float32 vectors). */
export function float32Text(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const text = v.toPrecision(p);
    if (Math.fround(Number(text)) === v) return String(Number(text));
  }
  return String(v);
}

/** A JSON array of float32 values as providers print it. */
export function vectorJson(values: readonly number[]): string {
  return `[${values.map(float32Text).join(',')}]`;
}

/** Base64 of the values' little-endian float32 bytes (OpenAI's `encoding_format: base64`). */
export function vectorBase64(values: readonly number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

/** The float32 values of a base64 vector (what a client decodes). */
export function decodeVectorBase64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
}
