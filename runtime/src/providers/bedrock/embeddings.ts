/**
 * Embeddings on Bedrock through InvokeModel with the AWS SDK: Amazon Titan Text
 * Embeddings v2 (one text per call) and Cohere Embed (up to 96). The bodies are the
 * models' own (providers/translate/openai-titan.ts, openai-cohere.ts); the token count
 * comes from the answer's `X-Amzn-Bedrock-Input-Token-Count` header, which the SDK does
 * not surface, so a middleware reads it off the raw answer.
 */
import { InvokeModelCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { bedrockEmbeddingFamily, type EmbeddingsCall } from '../../core/embeddings';
import { estimateInputTokens } from '../../quota/token-estimate';
import { ProviderError } from '../errors';
import { COHERE_BATCH_LIMIT, cohereRefusal, fromCohereResponse, toCohereRequest } from '../translate/openai-cohere';
import { TITAN_BATCH_LIMIT, fromTitanResponse, titanRefusal, toTitanRequest } from '../translate/openai-titan';
import type { CallOptions, EmbeddingsAdapter, EmbeddingsResult, Route } from '../types';

export interface BedrockEmbeddingsDeps {
  clientFor(route: Route, opts: CallOptions): BedrockRuntimeClient;
  /** Adds the call's trace headers to the command before it is signed. */
  addForwardHeaders(command: InvokeModelCommand, headers: Readonly<Record<string, string>> | undefined): void;
  /** What a failed send rejects with: the caller's reason when it aborted, else the classified error. */
  failure(err: unknown, signal: AbortSignal): unknown;
}

const TOKEN_COUNT_HEADER = 'x-amzn-bedrock-input-token-count';

export function createBedrockEmbeddings(deps: BedrockEmbeddingsDeps): EmbeddingsAdapter {
  /** One InvokeModel call: the model's answer text and the token count Bedrock reported. */
  async function invoke(route: Route, body: string, opts: CallOptions): Promise<{ text: string; tokens: number | undefined }> {
    const command = new InvokeModelCommand({ modelId: route.model, body, contentType: 'application/json', accept: 'application/json' });
    deps.addForwardHeaders(command, opts.forwardHeaders);
    let tokens: number | undefined;
    command.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const count = Number((out.response as { headers?: Record<string, string | undefined> }).headers?.[TOKEN_COUNT_HEADER]);
        if (Number.isInteger(count) && count >= 0) tokens = count;
        return out;
      },
      { step: 'deserialize', name: 'gatewayInputTokenCount' },
    );
    let output;
    try {
      output = await deps.clientFor(route, opts).send(command, { abortSignal: opts.signal });
    } catch (err) {
      throw deps.failure(err, opts.signal);
    }
    if (!output.body) throw new ProviderError('transient', `${route.key}: Bedrock InvokeModel answered without a body`, { code: 'unparseable' });
    return { text: Buffer.from(output.body).toString('utf8'), tokens };
  }

  return {
    batchLimit: (route) => (bedrockEmbeddingFamily(route.model) === 'titan' ? TITAN_BATCH_LIMIT : COHERE_BATCH_LIMIT),

    refusal: (route, call) => (bedrockEmbeddingFamily(route.model) === 'titan' ? titanRefusal(call, route.model) : cohereRefusal(call, route.model)),

    async embed(route: Route, call: EmbeddingsCall, opts: CallOptions): Promise<EmbeddingsResult> {
      const what = `Bedrock ${route.model}`;
      if (bedrockEmbeddingFamily(route.model) === 'titan') {
        const { text, tokens } = await invoke(route, toTitanRequest(call), opts);
        const answer = fromTitanResponse(text, what);
        return { vectors: [answer.vector], promptTokens: tokens ?? answer.tokens ?? estimateInputTokens(call.inputs), model: route.model };
      }
      const { text, tokens } = await invoke(route, toCohereRequest(call, route.model), opts);
      return { vectors: fromCohereResponse(text, call.inputs.items.length, what), promptTokens: tokens ?? estimateInputTokens(call.inputs), model: route.model };
    },
  };
}
