/** Names and tags every resource of the program shares. */
import type { ProviderKind } from '../config-schema';

export function baseTags(stack: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, 'ai-gateway:stack': stack, 'managed-by': 'pulumi' };
}

/** The proxy's name for a provider hub (through the hub NLB), port 80. Kinds are valid DNS labels. */
export function providerHubHost(kind: ProviderKind, zone: string): string {
  return `${kind}.${zone}`;
}

/** The weighted name over the spokes of one kind (direct to spoke NLBs over the TGW). */
export function spokesHost(kind: ProviderKind, zone: string): string {
  return `${kind}.${spokesDomain(zone)}`;
}

/** The sub-domain every spoke's record lives in: the only names the registrar role may change. */
export function spokesDomain(zone: string): string {
  return `spokes.${zone}`;
}

/** Fixed name of the role spokes assume in the hub account to register themselves. */
export const SPOKE_REGISTRAR_ROLE_NAME = 'ai-gateway-spoke-registrar';

/** Spoke alarms in the hub account carry this prefix (the registrar role may write no others). */
export const SPOKE_ALARM_PREFIX = 'ai-gateway-spoke-';

/** Port every spoke NLB listens on and every spoke task serves. */
export const SPOKE_PORT = 8080;
/** Port of the provider hub NLB listener that spreads over all spokes of its kind. */
export const HUB_NLB_PORT = 80;

/**
 * Fixed name of a spoke's task execution role: the hub grants its secrets, key and image
 * to exactly this role of each registered spoke account.
 */
export function spokeExecutionRoleName(stack: string): string {
  return `ai-gateway-${stack}-execution`;
}

/** Tag on everything a spoke declares in the hub account: the registrar lets a spoke change only what carries its account. */
export const SPOKE_ACCOUNT_TAG = 'ai-gateway:spoke-account';
