/**
 * Keeps credentials out of free text: provider error messages (which may quote the key
 * that was sent), failure reasons, log lines and answers to clients.
 */

export const REDACTED = '[redacted]';

/**
 * Upstream messages may quote the key we sent ("Incorrect API key provided: sk-...abcd").
 * Masked keys, `sk-` style keys, bearer tokens and the secret itself never pass.
 */
export function redactCredentials(text: string, secret: string | undefined, status: number): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  out = out
    .replace(/\bBearer\s+\S+/gi, `Bearer ${REDACTED}`)
    .replace(/\b(?:sk|pk|rk|sess)-[A-Za-z0-9*_.-]{3,}/g, REDACTED)
    .replace(/(api[ _-]?key[^:\n]{0,20}:\s*)[^\s,;]+/gi, `$1${REDACTED}`)
    .replace(/\S*\*{3,}\S*/g, REDACTED);
  // Auth failures are where servers quote keys in formats nobody can list: drop any long token.
  if (status === 401 || status === 403) out = out.replace(/[A-Za-z0-9_-]{24,}/g, REDACTED);
  return out;
}

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
