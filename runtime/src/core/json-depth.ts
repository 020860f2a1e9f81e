/**
 * How deep a client's free-form JSON (a tool's parameters, a JSON schema, a tool call's
 * input) may nest. JSON.stringify, ajv and the translators recurse through such values,
 * and a value thousands of levels deep overflows the stack; real JSON Schemas stay far
 * below the limit. The check itself walks with a stack of its own, so it cannot overflow.
 */

/** Levels of arrays and objects a free-form value may have, itself included (README, "Validation limits"). */
export const MAX_JSON_DEPTH = 64;

/** The message a value nested too deep gets, after its field's name. */
export const TOO_DEEP = `nested deeper than ${MAX_JSON_DEPTH} levels`;

/** Whether `value` nests arrays and objects more than `max` levels deep (`{}` and `[]` are one level; scalars none). */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  // Depth-first with a stack of its own; containers only (scalars are never pushed).
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) {
          values.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in v) {
        const child: unknown = (v as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) {
          values.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}
