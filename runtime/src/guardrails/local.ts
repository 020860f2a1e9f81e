/** Rules that run in the gateway: deny patterns (block) and masking of personal data. */
import type { ChatRequest } from '../core/chat-request';
import type { MaskKind } from '../config/schema';
import { maskText } from './mask';
import { messageTexts, rewriteTexts } from './message-text';
import type { Guardrail, GuardrailResult } from './types';

export interface LocalRules {
  /** Regular expressions as text, matched case-insensitively against every message text. */
  deny: readonly string[];
  /** What a blocked client is told. */
  reason?: string;
  mask: readonly MaskKind[];
}

export const DEFAULT_DENY_REASON = 'the request matches a denied pattern';

export class LocalGuardrail implements Guardrail {
  private readonly deny: RegExp[];
  private readonly mask: ReadonlySet<MaskKind>;

  constructor(
    readonly id: string,
    private readonly rules: LocalRules,
  ) {
    // Validated at config load; compiled once here. No "g" flag: test() keeps no state.
    this.deny = rules.deny.map((p) => new RegExp(p, 'i'));
    this.mask = new Set(rules.mask);
  }

  async check(req: ChatRequest): Promise<GuardrailResult> {
    if (this.deny.length > 0) {
      for (const text of messageTexts(req)) {
        if (this.deny.some((re) => re.test(text))) return { action: 'block', reason: this.rules.reason ?? DEFAULT_DENY_REASON };
      }
    }
    if (this.mask.size === 0) return { action: 'allow' };
    const masked = rewriteTexts(req, (text) => maskText(text, this.mask));
    return masked === req ? { action: 'allow' } : { action: 'allow', request: masked };
  }
}
