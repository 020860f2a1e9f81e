/**
 * Keeps credentials out of logs. Structured fields are censored by path (pino `redact`);
 * free text (provider error messages, failure reasons, stacks) goes through
 * `scrubSecrets`, because providers quote keys back in their error messages.
 */
import { redactCredentials } from '../providers/openai/classify';

export const REDACTED = '[redacted]';

/** Field paths pino censors wherever a log call passes them (one level of nesting for `*`). */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  'apiKey',
  'api_key',
  'password',
  'secret',
  'credentials',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["proxy-authorization"]',
  'headers["x-amz-security-token"]',
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.credentials',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
];

/** AWS access key ids: long-term (AKIA) and temporary (ASIA). */
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
/** `name: value` / `name=value` / `"name":"value"` where the name says it is a secret. */
const NAMED_SECRET =
  /\b(?<!:\d{12}:)(x-api-key|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|secret[_-]?access[_-]?key|aws[_-]?session[_-]?token|client[_-]?secret|password|secret)(["']?\s*[:=]\s*["']?)[^\s"',;&)]+/gi;
/** JSON web tokens (three base64url parts, the first an encoded `{"`). */
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
/** HTTP basic credentials. */
const BASIC_AUTH = /\bBasic\s+[A-Za-z0-9+/=]{8,}/g;
/** Google API keys. */
const GOOGLE_KEY = /\bAIza[0-9A-Za-z_-]{35}\b/g;
/** A long token mixing upper case, lower case and digits: how generated secrets look (AWS secret keys, tokens). */
const LONG_TOKEN = /[A-Za-z0-9+/=_-]{32,}/g;

function looksGenerated(token: string): boolean {
  return /[a-z]/.test(token) && /[A-Z]/.test(token) && /[0-9]/.test(token);
}

/**
 * Removes anything that looks like a credential from free text: the provider-message
 * rules of `redactCredentials` (bearer tokens, `sk-` keys, masked keys), plus AWS key
 * ids, named secrets, JWTs and long generated tokens. Model ids, routes, UUIDs and hex
 * digests survive (no upper case), so messages stay useful.
 */
export function scrubSecrets(text: string): string {
  if (text === '') return text;
  return redactCredentials(text, undefined, 0)
    .replace(NAMED_SECRET, `$1$2${REDACTED}`)
    .replace(AWS_ACCESS_KEY_ID, REDACTED)
    .replace(BASIC_AUTH, `Basic ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(GOOGLE_KEY, REDACTED)
    .replace(LONG_TOKEN, (t) => (looksGenerated(t) ? REDACTED : t));
}

/** An error as a log field, its message and stack scrubbed. */
export function scrubError(err: unknown): { type: string; message: string; stack?: string } {
  if (err instanceof Error) {
    return { type: err.name, message: scrubSecrets(err.message), ...(err.stack ? { stack: scrubSecrets(err.stack) } : {}) };
  }
  return { type: typeof err, message: scrubSecrets(String(err)) };
}
