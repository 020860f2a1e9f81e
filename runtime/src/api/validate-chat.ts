/** Parses and validates a Chat Completions body; every failure names the field at fault. */
import type { z } from 'zod';
import { chatRequestSchema, type ChatRequest, type RequestCheck } from '../core/chat-request';
import { echo } from '../core/echo';
import { badRequest, GatewayError } from '../core/gateway-error';

/** `messages[1].role` style, as OpenAI names params. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/**
 * A union none of whose options matched: the option that got furthest into the value
 * says what is wrong (an image part in a system message: the array option, at the part's
 * type), rather than "Invalid input"; the union's own issue when none went deeper.
 */
function deepest(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const firsts = issue.errors.map((errors) => errors[0]).filter((e) => e !== undefined);
  const best = firsts.reduce((a, b) => (b.path.length > a.path.length ? b : a), firsts[0]);
  if (!best || best.path.length === 0) return issue;
  return deepest({ ...best, path: [...issue.path, ...best.path] });
}

/** An issue of a body schema as the client is told it: a message naming the field, and the field. */
export function describe(found: z.core.$ZodIssue): { message: string; param: string | null } {
  const issue = deepest(found);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    return { message: echo(issue.message), param: key === undefined ? null : echo(key) };
  }
  const param = paramPath(issue.path) || null;
  let message = issue.message;
  if (issue.code === 'invalid_type') {
    const received = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input;
    message = issue.input === undefined ? `missing required parameter` : `expected ${issue.expected}, got ${received}`;
  } else if (issue.code === 'invalid_union' && issue.input === undefined) message = 'missing required parameter';
  return { message: param ? `Invalid '${param}': ${message}` : message, param };
}

/** A request body as a JSON object; a 400 `invalid_json` for anything else. */
export function parseJsonObject(text: string): object {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    if (text.trim() === '') throw badRequest('the request body is empty; expected a JSON object', null, 'invalid_json');
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`, null, 'invalid_json');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw badRequest('the request body must be a JSON object', null, 'invalid_json');
  }
  return doc;
}

/** The request in `text`, validated; `check` lets a body it passes skip the schema's walk. */
export function parseChatBody(text: string, check?: RequestCheck): ChatRequest {
  const doc = parseJsonObject(text);
  if (check?.(doc)) return doc;
  // Parse options change the context object every schema reads, which slowed every parse
  // (megamorphic property reads in zod): only a rejected body is parsed again to report
  // the input an issue is about.
  const result = chatRequestSchema.safeParse(doc);
  if (!result.success) {
    const issue = chatRequestSchema.safeParse(doc, { reportInput: true }).error!.issues[0];
    const { message, param } = describe(issue);
    const code = issue.code === 'unrecognized_keys' ? 'unsupported_parameter' : 'invalid_value';
    throw new GatewayError(400, 'invalid_request_error', message, code, param);
  }
  return result.data;
}
