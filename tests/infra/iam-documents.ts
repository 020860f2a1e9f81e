/**
 * Every IAM document the program declares, collected from the mocked resources of a run:
 * identity policies (role policies), trust policies (assume-role documents) and resource
 * policies (keys, secrets, repositories, buckets, sinks, topics). Nothing is copied by hand.
 */
import { fakeApiKeys, runStack, spokeStacksOnDisk, type RecordedResource, type StackRun } from './pulumi-harness';

export type PolicyKind = 'identity' | 'trust' | 'resource';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

export interface CollectedPolicy {
  stack: string;
  /** The resource that declares it (`hub-registrar-policy`, `spoke-b-gateway-execution` ...). */
  resource: string;
  type: string;
  kind: PolicyKind;
  /** The account the resource lives in. */
  accountId: string;
  /** For a role policy, the role it is attached to (by resource name); for a trust policy, the role. */
  role?: string;
  text: string;
  document: PolicyDocument;
}

export interface Estate {
  hub: StackRun;
  spokes: StackRun[];
  policies: CollectedPolicy[];
}

/** The hub and every Pulumi.spoke-*.yaml, as the program declares them under mocks. */
export async function declaredEstate(): Promise<Estate> {
  const hub = await runStack('hub', { apiKeys: fakeApiKeys() });
  const spokes: StackRun[] = [];
  for (const stack of spokeStacksOnDisk()) spokes.push(await runStack(stack, { hubOutputs: hub.outputs }));
  return { hub, spokes, policies: [hub, ...spokes].flatMap((run) => collectPolicies(run)) };
}

function accountOf(run: StackRun, r: RecordedResource): string {
  const provider = run.resources.find((p) => p.type === 'pulumi:providers:aws' && p.name === r.provider);
  return JSON.parse(provider?.inputs.allowedAccountIds ?? '[""]')[0];
}

export function collectPolicies(run: StackRun): CollectedPolicy[] {
  const out: CollectedPolicy[] = [];
  for (const r of run.resources) {
    for (const key of ['policy', 'assumeRolePolicy'] as const) {
      const text = r.inputs[key];
      if (typeof text !== 'string' || !text.includes('"Statement"')) continue;
      const kind: PolicyKind = key === 'assumeRolePolicy' ? 'trust' : r.type === 'aws:iam/rolePolicy:RolePolicy' || r.type === 'aws:iam/policy:Policy' ? 'identity' : 'resource';
      const role = r.type === 'aws:iam/rolePolicy:RolePolicy' ? String(r.inputs.role).replace(/-id$/, '') : kind === 'trust' ? r.name : undefined;
      out.push({ stack: run.stack, resource: r.name, type: r.type, kind, accountId: accountOf(run, r), role, text, document: JSON.parse(text) });
    }
  }
  return out;
}

export function policyOf(estate: Estate, resource: string, kind?: PolicyKind): PolicyDocument {
  const found = estate.policies.filter((p) => p.resource === resource && (kind === undefined || p.kind === kind));
  if (found.length !== 1) throw new Error(`expected one ${kind ?? ''} policy on ${resource}, found ${found.length}`);
  return found[0].document;
}

export const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
