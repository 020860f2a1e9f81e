/**
 * The guardrail stage: the configured guardrails that apply to a request (by model and
 * tenant), run in config order before routing. A block is a 400 `content_filter` and
 * nothing goes upstream; a guardrail that cannot decide follows its `onError`.
 */
import type { ChatRequest } from '../core/chat-request';
import { GatewayError } from '../core/gateway-error';
import type { GuardrailConfig } from '../config/schema';
import type { BedrockGuardrailDeps } from './bedrock';
import { LocalGuardrail } from './local';
import type { Guardrail, GuardrailContext } from './types';

export interface GuardrailStageDeps extends BedrockGuardrailDeps {
  /** Told when a guardrail could not decide, and whether the request was refused or let through. */
  onFailure?: (guardrailId: string, err: unknown, outcome: 'blocked' | 'allowed') => void;
}

interface ScopedGuardrail {
  readonly guardrail: Guardrail;
  readonly models?: ReadonlySet<string>;
  readonly tenants?: ReadonlySet<string>;
  readonly onError: GuardrailConfig['onError'];
}

export class GuardrailStage {
  constructor(
    private readonly entries: readonly ScopedGuardrail[],
    private readonly deps: GuardrailStageDeps = {},
  ) {}

  /** No guardrail is configured: requests go on untouched. */
  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** Guardrail ids that apply to this model and tenant, in the order they run. */
  appliesTo(ctx: GuardrailContext): string[] {
    return this.entries.filter((e) => inScope(e, ctx)).map((e) => e.guardrail.id);
  }

  /** The request to route (masked where a guardrail masked); throws the client's error when blocked. */
  async apply(req: ChatRequest, ctx: GuardrailContext): Promise<ChatRequest> {
    let current = req;
    for (const entry of this.entries) {
      if (!inScope(entry, ctx)) continue;
      const { guardrail } = entry;
      let result;
      try {
        result = await guardrail.check(current, ctx);
      } catch (err) {
        this.deps.onFailure?.(guardrail.id, err, entry.onError === 'allow' ? 'allowed' : 'blocked');
        if (entry.onError === 'allow') continue;
        throw guardrailUnavailable(guardrail.id, err);
      }
      if (result.action === 'block') throw contentFiltered(guardrail.id, result.reason);
      if (result.request) current = result.request;
    }
    return current;
  }

  close(): void {
    for (const e of this.entries) e.guardrail.close?.();
  }
}

export function createGuardrailStage(configs: readonly GuardrailConfig[], deps: GuardrailStageDeps = {}): GuardrailStage {
  const entries: ScopedGuardrail[] = [];
  for (const c of configs) {
    const scope = {
      models: c.models ? new Set(c.models) : undefined,
      tenants: c.tenants ? new Set(c.tenants) : undefined,
      onError: c.onError,
    };
    // Local rules first: cheap, and what they mask is not sent to Bedrock either.
    if (c.local) entries.push({ guardrail: new LocalGuardrail(c.id, c.local), ...scope });
    if (c.bedrock) {
      // The Bedrock SDK is loaded only for configs that use Bedrock guardrails.
      const { BedrockGuardrail } = require('./bedrock') as typeof import('./bedrock');
      entries.push({ guardrail: new BedrockGuardrail(c.id, c.bedrock, deps), ...scope });
    }
  }
  return new GuardrailStage(entries, deps);
}

function inScope(e: ScopedGuardrail, ctx: GuardrailContext): boolean {
  if (e.models && !e.models.has(ctx.model)) return false;
  // A tenant-scoped guardrail needs a tenant: unauthenticated requests are no tenant's.
  if (e.tenants && (ctx.tenant === undefined || !e.tenants.has(ctx.tenant))) return false;
  return true;
}

export function contentFiltered(guardrailId: string, reason: string): GatewayError {
  return new GatewayError(400, 'invalid_request_error', `The request was blocked by guardrail "${guardrailId}": ${reason}.`, 'content_filter', 'messages');
}

/** Fail-closed: the checker is down, not the client's content at fault, so 503 (a client may retry). */
function guardrailUnavailable(guardrailId: string, err: unknown): GatewayError {
  const detail = err instanceof Error ? err.message : String(err);
  return new GatewayError(503, 'api_error', `Guardrail "${guardrailId}" could not check the request, so it was not forwarded: ${detail}`, 'guardrail_unavailable');
}
