/**
 * Vectors the two ways the OpenAI API writes them: JSON numbers (`float`) or base64 of
 * their little-endian float32 bytes (`base64`, what the OpenAI SDKs ask for). Both
 * answers hold the same vector: a `base64` answer is the float32 of each number, and a
 * `float` answer of a vector that came as float32 writes each value exactly (its
 * shortest double form), so `Math.fround` of every float number gives the base64 bytes.
 */
import { endianness } from 'node:os';
import type { EmbeddingVector } from './embeddings';

/** Typed arrays use the machine's byte order; the wire is little-endian (every AWS target is too). */
const LITTLE_ENDIAN = endianness() === 'LE';
/**
 * Whether `text` has the length of base64 of whole float32 values. Its characters are
 * not checked: a regular expression over every vector cost more than the rest of the
 * request, and a server that writes base64 writes it right.
 */
export function isFloat32Base64(text: string): boolean {
  return text.length % 4 === 0 && dimensionsOf(text) % 1 === 0;
}

/** Whether `values` (parsed JSON: never NaN or infinite) are all numbers. */
export function isNumberArray(values: readonly unknown[]): values is readonly number[] {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return false;
  return true;
}

/** A vector as float32 values. */
export function float32Of(v: EmbeddingVector): Float32Array {
  if (v instanceof Float32Array) return v;
  if (typeof v !== 'string') return Float32Array.from(v);
  const bytes = Buffer.from(v, 'base64');
  const out = new Float32Array(bytes.length >> 2);
  if (LITTLE_ENDIAN) {
    // A copy: the decoded bytes may sit at an offset a Float32Array cannot start at.
    new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  } else {
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  }
  return out;
}

/** The base64 of a vector's little-endian float32 bytes. */
export function base64Of(v: EmbeddingVector): string {
  if (typeof v === 'string') return v;
  const f = float32Of(v);
  if (LITTLE_ENDIAN) return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
  const bytes = Buffer.alloc(f.length * 4);
  for (let i = 0; i < f.length; i++) bytes.writeFloatLE(f[i], i * 4);
  return bytes.toString('base64');
}

/** A vector as a JSON array of numbers: the upstream's own numbers, or each float32 value exactly. */
export function numbersJsonOf(v: EmbeddingVector): string {
  if (Array.isArray(v)) return JSON.stringify(v);
  // A typed array's join writes each value as JSON would (the values are finite).
  return `[${float32Of(v).join(',')}]`;
}

/** How many values a vector has. */
export function dimensionsOf(v: EmbeddingVector): number {
  if (typeof v !== 'string') return v.length;
  // base64 of n bytes: ceil(n / 3) * 4 characters, padded with "=".
  const padding = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
  return ((v.length / 4) * 3 - padding) / 4;
}
