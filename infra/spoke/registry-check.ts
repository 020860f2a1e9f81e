/**
 * A spoke against the hub's spoke registry (the hub output `spokeRegistry`, from
 * `ai-gateway:spokes` in Pulumi.hub.yaml): the hub trusts and routes only what it lists,
 * so a spoke whose stack file disagrees with its entry, or that collides with another
 * spoke, fails the deployment with the key named, before it registers anything.
 */
import { StackConfigError } from '../config';
import type { SpokeConfig, SpokeRegistryEntry } from '../config-schema';
import { cidrContains, cidrsOverlap } from '../lib/cidr';

const KEY = 'ai-gateway:';

/**
 * What the spoke file says about the hub (`ai-gateway:hub`), as the hub's outputs have it:
 * its VPC CIDR becomes the spoke's routes and NLB ingress, the on-prem CIDR its route over
 * the VPN. A stale copy would deploy cleanly and leave the spoke unreachable from the hub.
 */
export interface HubFacts {
  hubVpcCidr?: string;
  onPremCidr?: string;
  hubRegion?: string;
  hubAccountId?: string;
  spokeRegistrarRoleArn?: string;
  /** Accounts the hub's RAM share invites (outside its organization). */
  ramExternalAccountIds?: string[];
  /** The hub's third-party key secrets, by name (its `thirdParty`). */
  thirdPartySecretArns?: Record<string, string>;
}

function hubFactProblems(cfg: SpokeConfig, facts: HubFacts): string[] {
  const { hub } = cfg;
  const checks: [key: string, mine: string | undefined, output: keyof HubFacts, what: string][] = [
    ['hub.cidr', hub.cidr, 'hubVpcCidr', "the hub's VPC CIDR"],
    ['hub.region', hub.region, 'hubRegion', "the hub's Region"],
    ['hub.accountId', hub.accountId, 'hubAccountId', "the hub's account"],
    ['hub.roleArn', hub.roleArn, 'spokeRegistrarRoleArn', "the hub's registrar role"],
  ];
  // Only a spoke that names an on-prem network is held to the hub's (an on-prem spoke must name it).
  if (hub.onPremCidr !== undefined) checks.push(['hub.onPremCidr', hub.onPremCidr, 'onPremCidr', "the hub's on-prem network (onPrem.cidr)"]);
  // A hub output that is absent (an older hub, or no VPN) is not checked.
  const problems = checks.flatMap(([key, mine, output, what]) => {
    const theirs = facts[output];
    return typeof theirs === 'string' && mine !== theirs ? [`${KEY}${key}: ${mine} differs from ${what}, ${theirs} (hub output ${output})`] : [];
  });
  // Only an invited account has a share invitation to accept; one shared through the organization has none.
  const invited = facts.ramExternalAccountIds?.includes(cfg.account.id);
  if (invited === true && !hub.acceptRamShare) {
    problems.push(
      `${KEY}hub.acceptRamShare: must be true: the hub shares its Transit Gateway with ${cfg.account.id} as an external account (its sharing.externalAccountIds), and the attachment cannot see it until the share is accepted`,
    );
  } else if (invited === false && hub.acceptRamShare) {
    problems.push(
      `${KEY}hub.acceptRamShare: must be false: ${cfg.account.id} is not in the hub's sharing.externalAccountIds, so the share reaches it through the organization with no invitation to accept`,
    );
  }
  // A vendor's key must be one of the hub's secrets: found out only mid-deploy otherwise.
  const secrets = facts.thirdPartySecretArns;
  if (secrets && cfg.provider.kind === 'third-party') {
    cfg.provider.vendors.forEach((vendor, i) => {
      if (!Object.hasOwn(secrets, vendor.secret)) {
        const names = Object.keys(secrets);
        problems.push(
          `${KEY}provider.vendors[${i}].secret: "${vendor.secret}" is not a secret of the hub (its thirdParty: ${names.length > 0 ? names.join(', ') : 'none'}); add { name: ${vendor.secret} } to the hub's ai-gateway:thirdParty with its key and run pulumi up -s hub first`,
        );
      }
    });
  }
  return problems;
}

export function checkAgainstHubRegistry(
  stack: string,
  cfg: SpokeConfig,
  registry: readonly SpokeRegistryEntry[] | undefined,
  spokeCidrPool: string,
  facts: HubFacts = {},
): SpokeRegistryEntry {
  const entries = registry ?? [];
  const index = entries.findIndex((e) => e.stack === stack);
  const problems: string[] = hubFactProblems(cfg, facts);
  const { cidr } = cfg.network;
  const { hubPort } = cfg.registration;
  if (!cidrContains(spokeCidrPool, cidr))
    problems.push(`${KEY}network.cidr: ${cidr} is outside the hub's spokeCidrPool ${spokeCidrPool}: the hub routes only the pool to the Transit Gateway`);
  entries.forEach((other, j) => {
    if (j === index) return;
    if (cidrsOverlap(cidr, other.cidr)) problems.push(`${KEY}network.cidr: ${cidr} overlaps ${other.stack} (${other.cidr}, the hub's spokes[${j}])`);
    if (hubPort === other.hubPort) problems.push(`${KEY}registration.hubPort: ${hubPort} is taken by ${other.stack} (the hub's spokes[${j}])`);
  });
  if (index < 0) {
    problems.push(
      `${KEY}registration: the hub has no entry for stack "${stack}" in ai-gateway:spokes; add { stack: ${stack}, accountId: "${cfg.account.id}", deployRoleArn: ${cfg.account.deployRoleArn}, kind: ${cfg.provider.kind}, cidr: ${cidr}, hubPort: ${hubPort} } to Pulumi.hub.yaml and run pulumi up -s hub first`,
    );
  } else {
    const entry = entries[index];
    const same = (key: string, mine: unknown, field: keyof SpokeRegistryEntry) => {
      if (mine !== entry[field]) problems.push(`${KEY}${key}: ${String(mine)} differs from the hub's registry entry (spokes[${index}].${field} = ${String(entry[field])})`);
    };
    same('account.id', cfg.account.id, 'accountId');
    same('account.deployRoleArn', cfg.account.deployRoleArn, 'deployRoleArn');
    same('provider.kind', cfg.provider.kind, 'kind');
    same('network.cidr', cidr, 'cidr');
    same('registration.hubPort', hubPort, 'hubPort');
  }
  if (problems.length > 0) throw new StackConfigError(`stack "${stack}" does not match the hub:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return entries[index];
}
