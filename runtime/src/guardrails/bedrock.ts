/**
 * An Amazon Bedrock guardrail through ApplyGuardrail (source INPUT): each message text is
 * one content block. NONE lets the request through; GUARDRAIL_INTERVENED blocks it, unless
 * the guardrail only anonymized, in which case its outputs replace the texts.
 */
import { ApplyGuardrailCommand, BedrockRuntimeClient, type ApplyGuardrailCommandOutput, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ChatRequest } from '../core/chat-request';
import type { GuardrailConfig } from '../config/schema';
import { messageTexts, rewriteTexts } from './message-text';
import type { Guardrail, GuardrailResult } from './types';

export type BedrockGuardrailSettings = NonNullable<GuardrailConfig['bedrock']>;

export interface BedrockGuardrailDeps {
  /** Replaces the AWS default credential chain (tests: static fake keys). */
  credentials?: BedrockRuntimeClientConfig['credentials'];
  requestHandler?: BedrockRuntimeClientConfig['requestHandler'];
}

/** What each policy is called when it is the reason for a block. */
const POLICY_NAMES: Record<string, string> = {
  topicPolicy: 'denied topic',
  contentPolicy: 'content filter',
  wordPolicy: 'word filter',
  sensitiveInformationPolicy: 'sensitive information',
  contextualGroundingPolicy: 'contextual grounding',
  automatedReasoningPolicy: 'automated reasoning',
};

export class BedrockGuardrail implements Guardrail {
  private client: BedrockRuntimeClient | undefined;

  constructor(
    readonly id: string,
    private readonly settings: BedrockGuardrailSettings,
    private readonly deps: BedrockGuardrailDeps = {},
  ) {}

  async check(req: ChatRequest): Promise<GuardrailResult> {
    const texts = messageTexts(req);
    // Blank texts are not content to judge (and Bedrock refuses empty blocks).
    const sent = texts.flatMap((t, i) => (t.trim() === '' ? [] : [i]));
    if (sent.length === 0) return { action: 'allow' };
    const out = await this.apply(sent.map((i) => texts[i]));
    if (out.action !== 'GUARDRAIL_INTERVENED') return { action: 'allow' };
    const actions = actionsIn(out.assessments);
    const outputs = out.outputs ?? [];
    // Only anonymized, and one output per block sent: forward the masked texts.
    if (!actions.has('BLOCKED') && actions.has('ANONYMIZED') && outputs.length === sent.length) {
      const position = new Map(sent.map((textIndex, block) => [textIndex, block]));
      const masked = rewriteTexts(req, (text, i) => {
        const block = position.get(i);
        return block === undefined ? text : (outputs[block].text ?? text);
      });
      return { action: 'allow', request: masked };
    }
    return { action: 'block', reason: blockReason(this.settings, out) };
  }

  close(): void {
    this.client?.destroy();
    this.client = undefined;
  }

  private async apply(texts: string[]): Promise<ApplyGuardrailCommandOutput> {
    const command = new ApplyGuardrailCommand({
      guardrailIdentifier: this.settings.guardrailId,
      guardrailVersion: this.settings.version,
      source: 'INPUT',
      content: texts.map((text) => ({ text: { text } })),
    });
    try {
      return await this.clientNow().send(command, { abortSignal: AbortSignal.timeout(this.settings.timeoutMs) });
    } catch (err) {
      throw new Error(`Amazon Bedrock ApplyGuardrail ${this.describe()} failed: ${failureOf(err, this.settings.timeoutMs)}`, { cause: err });
    }
  }

  private clientNow(): BedrockRuntimeClient {
    this.client ??= new BedrockRuntimeClient({
      region: this.settings.region,
      ...(this.settings.url ? { endpoint: this.settings.url } : {}),
      ...(this.deps.credentials ? { credentials: this.deps.credentials } : {}),
      // HTTP/1.1 with keep-alive (the client's default for this service is HTTP/2, which plain-http endpoints lack).
      requestHandler: this.deps.requestHandler ?? keepAliveHandler(),
      // One quick retry rides out a blip; the timeout bounds both.
      maxAttempts: 2,
    });
    return this.client;
  }

  private describe(): string {
    return `${this.settings.guardrailId} version ${this.settings.version} in ${this.settings.region}`;
  }
}

function keepAliveHandler(): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  return new NodeHttpHandler({ httpAgent: new HttpAgent(agentOptions), httpsAgent: new HttpsAgent(agentOptions), connectionTimeout: 2_000 });
}

/** Every `action` value anywhere in the assessments (policies nest them at different depths). */
function actionsIn(assessments: unknown): Set<string> {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        if (k === 'action' && typeof child === 'string') found.add(child);
        else walk(child);
      }
    }
  };
  walk(assessments);
  return found;
}

/** The guardrail's own blocked message, and which of its policies blocked. */
function blockReason(settings: BedrockGuardrailSettings, out: ApplyGuardrailCommandOutput): string {
  const policies = new Set<string>();
  for (const a of out.assessments ?? []) {
    for (const [key, value] of Object.entries(a)) if (POLICY_NAMES[key] && actionsIn(value).has('BLOCKED')) policies.add(POLICY_NAMES[key]);
  }
  const message = out.outputs?.find((o) => o.text)?.text ?? out.actionReason ?? 'the Amazon Bedrock guardrail intervened';
  const which = policies.size > 0 ? `: ${[...policies].join(', ')}` : '';
  return `${message} (Amazon Bedrock guardrail ${settings.guardrailId}${which})`;
}

function failureOf(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const status = e?.$metadata?.httpStatusCode;
  return `${status ? `${status} ` : ''}${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
}
