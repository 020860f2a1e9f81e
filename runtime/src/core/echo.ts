/** A client's value as an error message quotes it: at most a hundred characters, so a huge one is not sent back whole. */
const MAX_ECHO_CHARS = 100;

export function echo(value: string): string {
  return value.length > MAX_ECHO_CHARS ? `${value.slice(0, MAX_ECHO_CHARS)}…` : value;
}

/** A scalar as JSON (a string in quotes), `echo`ed; an array or object by its kind (it may be huge or deep). */
export function echoJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(echo(value));
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
