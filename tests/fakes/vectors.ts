/**
 * Deterministic embedding vectors for the fake providers, made independently of the
 * gateway's code: float32 values from a seeded generator, written the way the providers
 * write them (float32 text for JSON numbers, little-endian float32 bytes for base64).
 */
import { createHash } from 'node:crypto';

/** `dims` float32 values from `seed`; a unit vector unless `normalize` is false. */
export function fakeVector(seed: string, dims: number, normalize = true): number[] {
  const out: number[] = [];
  for (let counter = 0; out.length < dims; counter++) {
    const block = createHash('sha256').update(`${seed}\n${counter}`).digest();
    // 16 bits of hash each: a value in [-1, 1).
    for (let at = 0; at < block.length && out.length < dims; at += 2) out.push(block.readUInt16LE(at) / 32768 - 1);
  }
  const norm = Math.sqrt(out.reduce((s, x) => s + x * x, 0));
  const scale = normalize ? 1 / norm : 3;
  return out.map((x) => Math.fround(x * scale));
}

/** A float32 value as providers print it: nine significant digits (always enough to read back the same float32), no trailing zeros. */
export function float32Text(v: number): string {
  return String(Number(v.toPrecision(9)));
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
