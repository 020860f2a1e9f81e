/**
 * A JSON value that follows a JSON Schema, for the simulated provider's structured
 * answers: the first choice of every enum, const and union, every property of objects,
 * the fewest items arrays allow, and numbers and strings inside their bounds. Covers what
 * structured-output schemas use (objects, arrays, scalars, enums, anyOf/oneOf/allOf,
 * local $refs, common formats); a schema beyond that gets its best guess.
 */
type Schema = Record<string, unknown>;

const FORMATS: Record<string, string> = {
  'date-time': '2025-01-01T00:00:00Z',
  date: '2025-01-01',
  time: '00:00:00Z',
  email: 'user@example.com',
  uri: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  hostname: 'example.com',
};

export function sampleJson(schema: unknown, words: () => string): unknown {
  return sample(schema, schema as Schema, words, 0);
}

function sample(node: unknown, root: Schema, words: () => string, depth: number): unknown {
  if (typeof node !== 'object' || node === null || depth > 32) return null;
  const s = node as Schema;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if (typeof s.$ref === 'string') return sample(resolve(s.$ref, root), root, words, depth + 1);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length > 0) return sample(options.find((o) => (o as Schema).type !== 'null') ?? options[0], root, words, depth + 1);
  }
  if (Array.isArray(s.allOf)) return sample(Object.assign({}, ...(s.allOf as Schema[])), root, words, depth + 1);
  const type = Array.isArray(s.type) ? ((s.type as string[]).find((t) => t !== 'null') ?? 'null') : (s.type as string | undefined);
  switch (type ?? (s.properties ? 'object' : s.items ? 'array' : 'string')) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      for (const [key, value] of Object.entries(props)) out[key] = sample(value, root, words, depth + 1);
      return out;
    }
    case 'array': {
      const count = Math.max(typeof s.minItems === 'number' ? s.minItems : 1, 1);
      const max = typeof s.maxItems === 'number' ? s.maxItems : count;
      return Array.from({ length: Math.min(count, max) }, () => sample(s.items ?? {}, root, words, depth + 1));
    }
    case 'integer':
    case 'number':
      return numberIn(s, type === 'integer');
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return stringFor(s, words);
  }
}

function resolve(ref: string, root: Schema): unknown {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) node = (node as Schema | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node ?? {};
}

function numberIn(s: Schema, integer: boolean): number {
  const min = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + (integer ? 1 : 0.5) : undefined;
  const max = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - (integer ? 1 : 0.5) : undefined;
  // 1 where the bounds allow it: zod's integers carry the safe-integer range, and its edge reads as a bug.
  let n = Math.min(Math.max(1, min ?? -Infinity), max ?? Infinity);
  if (typeof s.multipleOf === 'number' && s.multipleOf > 0) n = Math.ceil(n / s.multipleOf) * s.multipleOf;
  return integer ? Math.ceil(n) : n;
}

function stringFor(s: Schema, words: () => string): string {
  if (typeof s.format === 'string' && FORMATS[s.format]) return FORMATS[s.format];
  let text = words();
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  while (text.length < min) text += ` ${words()}`;
  if (typeof s.maxLength === 'number') text = text.slice(0, s.maxLength);
  return text;
}
