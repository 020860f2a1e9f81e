/**
 * A guardrail looks at a validated request before it is routed and either lets it
 * through (perhaps rewritten: masked) or blocks it with a reason the client is told.
 */
import type { ChatRequest } from '../core/chat-request';

export interface GuardrailContext {
  /** The logical model the client asked for. */
  model: string;
  /** The authenticated tenant, when tenants are configured. */
  tenant?: string;
}

export type GuardrailResult =
  /** `request` is the rewritten request (masking); absent when nothing changed. */
  { action: 'allow'; request?: ChatRequest } | { action: 'block'; reason: string };

export interface Guardrail {
  /** The configured guardrail id: what a blocked client and the operator see. */
  readonly id: string;
  /** Throws when it cannot decide (its service failed); the stage then applies `onError`. */
  check(req: ChatRequest, ctx: GuardrailContext): Promise<GuardrailResult>;
  close?(): void;
}
