/**
 * Guardrails on embeddings inputs: the texts a request would send upstream are checked
 * (deny rules, masking, Bedrock guardrails) as the user turns of a chat request would be,
 * so embeddings are no way around them. Token ids cannot be read, so where a guardrail
 * applies they are refused rather than let through unchecked.
 */
import type { ChatRequest } from '../core/chat-request';
import type { EmbeddingsRequest } from '../core/embeddings';
import { GatewayError } from '../core/gateway-error';
import type { GuardrailStage } from '../guardrails/stage';
import type { GuardrailContext } from '../guardrails/types';

/** The request to route (texts masked where a guardrail masked); throws the client's error when blocked. */
export async function guardEmbeddings(stage: GuardrailStage, req: EmbeddingsRequest, ctx: GuardrailContext): Promise<EmbeddingsRequest> {
  if (stage.appliesTo(ctx).length === 0) return req;
  const inputs = req.inputs;
  if (inputs.kind === 'tokens') {
    throw new GatewayError(400, 'invalid_request_error', 'Token ids cannot be checked by the guardrails of this model: send the input as text.', 'guardrail_requires_text', 'input');
  }
  const chat: ChatRequest = { model: req.model, messages: inputs.items.map((content) => ({ role: 'user' as const, content })) };
  let checked: ChatRequest;
  try {
    checked = await stage.apply(chat, ctx);
  } catch (err) {
    // A block names the field it read: here, the inputs.
    if (err instanceof GatewayError && err.param === 'messages') throw new GatewayError(err.status, err.type, err.message, err.code, 'input', err.headers);
    throw err;
  }
  if (checked === chat) return req;
  return { ...req, inputs: { kind: 'text', items: checked.messages.map((m) => m.content as string) } };
}
