/**
 * Parses and validates a Messages (or count_tokens) body, and applies the rules of the
 * client's API version. Errors name the field the way Anthropic does
 * (`messages.0.content.1.text: Field required`). A valid body is used as the client sent
 * it: the schema's copy would drop nothing, but Claude targets must get every byte.
 */
import type * as z from 'zod/mini';
import { echo } from '../core/echo';
import { badRequest, GatewayError } from '../core/gateway-error';
import { messagesIssue } from '../core/messages-rules';
import {
  contentBlocks,
  issueText,
  type ContentBlockParam,
  messagesSchemas,
  type AnthropicVersion,
  type CountTokensRequest,
  type MessagesChecks,
  type MessagesRequest,
} from '../core/messages-request';

/** Sampling parameters API version 2026-10-21 removed ("Extra inputs are not permitted", even at their defaults). */
const REMOVED_IN_2026 = ['temperature', 'top_p', 'top_k'] as const;

/** `checks` (compiled, api/messages-fast-check.ts) let a body they pass skip the schema's walk. */
export function parseMessagesBody(text: string, version: AnthropicVersion, checks?: MessagesChecks): MessagesRequest {
  const req = parse(text, messagesSchemas().messages, checks?.messages) as MessagesRequest;
  versionRules(req, version);
  return req;
}

export function parseCountTokensBody(text: string, version: AnthropicVersion, checks?: MessagesChecks): CountTokensRequest {
  const req = parse(text, messagesSchemas().countTokens, checks?.countTokens) as CountTokensRequest;
  versionRules(req, version);
  return req;
}

function parse(text: string, schema: z.ZodMiniType, check: ((doc: object) => boolean) | undefined): unknown {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    if (text.trim() === '') throw badRequest('The request body is empty; expected a JSON object.', null, 'invalid_json');
    throw badRequest(`There was an error parsing the body of your request: ${(err as Error).message}`, null, 'invalid_json');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  if (!check?.(doc)) {
    const result = schema.safeParse(doc);
    if (!result.success) {
      const issue = schema.safeParse(doc, { reportInput: true }).error!.issues[0];
      const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
      const param = echo(path.map(String).join('.'));
      const code = issue.code === 'unrecognized_keys' ? 'unsupported_parameter' : 'invalid_value';
      throw new GatewayError(400, 'invalid_request_error', param ? `${param}: ${issueText(issue)}` : issueText(issue), code, param || null);
    }
  }
  // What the schema cannot state; the compiled check leaves it here too, so both paths apply it.
  const broken = messagesIssue(doc as CountTokensRequest);
  if (broken) throw new GatewayError(400, 'invalid_request_error', `${broken.path}: ${broken.message}`, 'invalid_value', broken.path);
  return doc;
}

/** What API version 2026-10-21 refuses that 2023-06-01 took (Anthropic's migration guide). */
function versionRules(req: CountTokensRequest, version: AnthropicVersion): void {
  if (version !== '2026-10-21') return;
  for (const key of REMOVED_IN_2026) {
    if (key in req) throw new GatewayError(400, 'invalid_request_error', `${key}: Extra inputs are not permitted (removed in anthropic-version 2026-10-21)`, 'unsupported_parameter', key);
  }
  req.messages.forEach((m, i) => {
    contentBlocks(m.content).forEach((b, j) => {
      if (m.role === 'assistant' && b.type === 'document') {
        throw new GatewayError(
          400,
          'invalid_request_error',
          `messages.${i}.content.${j}: document blocks are not allowed in assistant messages`,
          'invalid_value',
          `messages.${i}.content.${j}`,
        );
      }
      if (m.role !== 'user') return;
      // Directly, or inside a search_result block.
      const texts = b.type === 'search_result' && Array.isArray(b.content) ? (b.content as ContentBlockParam[]) : [b];
      if (texts.some((t) => t.type === 'text' && Array.isArray(t.citations) && t.citations.length > 0)) {
        throw new GatewayError(
          400,
          'invalid_request_error',
          `messages.${i}.content.${j}: citations are not allowed on text blocks in user messages`,
          'invalid_value',
          `messages.${i}.content.${j}`,
        );
      }
    });
  });
}
