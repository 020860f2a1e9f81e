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
  return `${kind}.spokes.${zone}`;
}

/** Fixed name of the role spokes assume in the hub account to register themselves. */
export const SPOKE_REGISTRAR_ROLE_NAME = 'ai-gateway-spoke-registrar';

/** Spoke alarms in the hub account carry this prefix (the registrar role may write no others). */
export const SPOKE_ALARM_PREFIX = 'ai-gateway-spoke-';

/** Port every spoke NLB listens on and every spoke task serves. */
export const SPOKE_PORT = 8080;
/** Port of the provider hub NLB listener that spreads over all spokes of its kind. */
export const HUB_NLB_PORT = 80;
