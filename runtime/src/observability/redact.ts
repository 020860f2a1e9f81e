/**
 * Keeps credentials out of logs. Structured fields are censored by path (pino `redact`);
 * free text (provider error messages, failure reasons, stacks) goes through
 * `scrubSecrets` (core/redact.ts), because providers quote keys back in their error messages.
 */
import { scrubSecrets } from '../core/redact';

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

/** An error as a log field, its message and stack scrubbed. */
export function scrubError(err: unknown): { type: string; message: string; stack?: string } {
  if (err instanceof Error) {
    return { type: err.name, message: scrubSecrets(err.message), ...(err.stack ? { stack: scrubSecrets(err.stack) } : {}) };
  }
  return { type: typeof err, message: scrubSecrets(String(err)) };
}
