/**
 * Every runtime schema uses zod/mini, whose functions the Lambda bundle keeps only as
 * used (classic zod is whole, ~450 KB); this gives it the English messages classic zod
 * loads itself, and says what a union expected where zod says only "Invalid input".
 * Schema modules import it for that effect.
 */
import { config, type core } from 'zod/mini';
import { en } from 'zod/locales';

config({ ...en(), customError: unionMessage });

/**
 * A value none of a union's options takes: the one option whose type it has says what is
 * wrong with it (`stop` with five items: "Too big: expected array to have <=4 items");
 * when it has none of their types, what they expected ("expected string or array, got
 * number"). A missing value is left to each API's own words.
 */
function unionMessage(issue: core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0 || issue.input === undefined) return undefined;
  const firsts = issue.errors.map((errors) => errors[0]);
  const wrongType = (e: core.$ZodIssue | undefined) => e?.code === 'invalid_type' && e.path.length === 0;
  const fitting = firsts.filter((e) => !wrongType(e));
  if (fitting.length === 1 && fitting[0]?.path.length === 0) return fitting[0].message;
  if (fitting.length > 0) return undefined;
  const expected = [...new Set(firsts.map((e) => (e as core.$ZodIssueInvalidType).expected))];
  const input = issue.input;
  const got = input === null ? 'null' : Array.isArray(input) ? 'array' : typeof input;
  return `expected ${expected.join(' or ')}, got ${got}`;
}
