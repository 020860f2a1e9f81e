/**
 * The Anthropic headers a Messages client sends: `anthropic-version` (which rules the
 * body follows) and `anthropic-beta` (feature flags, passed on only to targets that
 * take them: providers/anthropic/beta-flags.ts).
 */
import { badRequest } from '../core/gateway-error';
import { ANTHROPIC_VERSIONS, type AnthropicVersion } from '../core/messages-request';
import type { ApiCall } from './call';
import { echo } from '../core/echo';

export interface AnthropicHeaders {
  readonly version: AnthropicVersion;
  /** The client's beta flags, in order, without repeats. */
  readonly betas: readonly string[];
}

const NO_BETAS: readonly string[] = [];

/** The client's headers; an unknown version is a 400 naming the header (a missing one means 2023-06-01, as older clients assume). */
export function anthropicHeaders(call: ApiCall): AnthropicHeaders {
  const given = call.header('anthropic-version')?.trim();
  if (given && !(ANTHROPIC_VERSIONS as readonly string[]).includes(given)) {
    throw badRequest(`anthropic-version: "${echo(given)}" is not a supported version; use one of ${ANTHROPIC_VERSIONS.join(', ')}.`, 'anthropic-version', 'invalid_header');
  }
  return { version: (given as AnthropicVersion | undefined) || '2023-06-01', betas: betaFlags(call.header('anthropic-beta')) };
}

/** `a,b` (or several headers, joined by the HTTP layer with ", ") as a list. */
export function betaFlags(header: string | undefined): readonly string[] {
  if (!header) return NO_BETAS;
  return [
    ...new Set(
      header
        .split(',')
        .map((f) => f.trim())
        .filter((f) => f !== ''),
    ),
  ];
}
