/**
 * The calls that matter, simulated with @cloud-copilot/iam-simulate against the policies
 * the program declares (collected from the mocked resources): what a spoke's registration
 * really calls, with the ARNs its run really uses, is allowed; reaching past its own
 * things is denied.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { SPOKE_ACCOUNT_TAG } from '../../infra/lib/naming';
import { declaredEstate, policyOf, type Estate, type PolicyDocument } from './iam-documents';
import { ofType, type StackRun } from './pulumi-harness';

/* eslint-disable @typescript-eslint/no-explicit-any -- stack outputs are JSON */
let estate: Estate;
beforeAll(async () => {
  estate = await declaredEstate();
}, 60_000);

const HUB_ACCOUNT = '111111111111';
const REGION = 'us-east-1';
const spoke = (stack: string): StackRun => estate.spokes.find((s) => s.stack === stack) as StackRun;
const hubOut = (): Record<string, any> => estate.hub.outputs;
const registry = (stack: string): { accountId: string; deployRoleArn: string } => hubOut().spokeRegistry.find((e: any) => e.stack === stack);

/** A deploy role is the platform team's own (usually administrator): everything its account allows it. */
const DEPLOY_ROLE_POLICY = { name: 'deploy-role', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } };

interface Call {
  principal: string;
  action: string;
  resource: string;
  resourceAccount: string;
  context?: Record<string, string | string[]>;
  identity: { name: string; policy: PolicyDocument | object }[];
  resourcePolicy?: PolicyDocument;
}

async function decide(call: Call): Promise<string> {
  const principalAccount = /::(\d{12}):/.exec(call.principal)?.[1] as string;
  const simulation: Simulation = {
    request: {
      principal: call.principal,
      action: call.action,
      resource: { resource: call.resource, accountId: call.resourceAccount },
      contextVariables: { 'aws:PrincipalAccount': principalAccount, 'aws:PrincipalArn': call.principal, ...call.context },
    },
    identityPolicies: call.identity,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: call.resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`${call.action} on ${call.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** A spoke's registrar session: the role, tagged with the spoke's account as the trust policy demands. */
function registrarSession(stack: string): Pick<Call, 'principal' | 'identity'> & { tags: Record<string, string> } {
  const account = registry(stack).accountId;
  return {
    principal: `arn:aws:iam::${HUB_ACCOUNT}:role/ai-gateway-spoke-registrar`,
    identity: [{ name: 'registrar', policy: policyOf(estate, 'hub-registrar-policy') }],
    tags: { [`aws:PrincipalTag/${SPOKE_ACCOUNT_TAG}`]: account },
  };
}

/** What the registrar session calls for one of a spoke's hub-side resources. */
async function asRegistrar(stack: string, action: string, resource: string, context: Record<string, string | string[]> = {}): Promise<string> {
  const session = registrarSession(stack);
  return decide({ principal: session.principal, identity: session.identity, action, resource, resourceAccount: HUB_ACCOUNT, context: { ...session.tags, ...context } });
}

const hubOwned = (run: StackRun, type: string) => ofType(run, type).filter((r) => r.provider === 'hub-account' && r.name.startsWith(`${run.stack}-hub-`));
const elbArn = (kind: 'targetgroup', name: string) => `arn:aws:elasticloadbalancing:${REGION}:${HUB_ACCOUNT}:${kind}/${name}/0123456789abcdef`;

describe('assuming the registrar role', () => {
  const assume = (stack: string, context: Record<string, string | string[]>, action = 'sts:AssumeRole', principal = registry(stack).deployRoleArn) =>
    decide({
      principal,
      action,
      resource: hubOut().spokeRegistrarRoleArn,
      resourceAccount: HUB_ACCOUNT,
      context,
      identity: [DEPLOY_ROLE_POLICY],
      resourcePolicy: policyOf(estate, 'hub-registrar-role', 'trust'),
    });

  test('the spoke deploy role, with the external id and its own account as the session tag: allowed (assume and tag)', async () => {
    for (const stack of ['spoke-a', 'spoke-b']) {
      const tags = { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: registry(stack).accountId, 'aws:TagKeys': [SPOKE_ACCOUNT_TAG] };
      expect(await assume(stack, { 'sts:ExternalId': hubOut().spokeRegistrarExternalId, ...tags })).toBe('Allowed');
      expect(await assume(stack, tags, 'sts:TagSession')).toBe('Allowed');
    }
  });

  test('without the external id, or with a wrong one: denied', async () => {
    const tags = { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: registry('spoke-a').accountId, 'aws:TagKeys': [SPOKE_ACCOUNT_TAG] };
    expect(await assume('spoke-a', tags)).not.toBe('Allowed');
    expect(await assume('spoke-a', { ...tags, 'sts:ExternalId': 'guessed' })).not.toBe('Allowed');
  });

  test("tagging the session with another spoke's account: denied", async () => {
    const tags = { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: registry('spoke-b').accountId, 'aws:TagKeys': [SPOKE_ACCOUNT_TAG] };
    expect(await assume('spoke-a', { 'sts:ExternalId': hubOut().spokeRegistrarExternalId, ...tags })).not.toBe('Allowed');
    expect(await assume('spoke-a', tags, 'sts:TagSession')).not.toBe('Allowed');
  });

  test('any other role of a spoke account: denied', async () => {
    const tags = { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: '222222222222', 'sts:ExternalId': hubOut().spokeRegistrarExternalId };
    expect(await assume('spoke-a', tags, 'sts:AssumeRole', 'arn:aws:iam::222222222222:role/some-developer')).not.toBe('Allowed');
  });
});

describe('a spoke registering itself (what each of its hub-side resources calls, with the ARNs its run uses)', () => {
  test.each(['spoke-a', 'spoke-b'])('%s: route tables, targets, its own target group and listener, record, health check, alarms: allowed', async (stack) => {
    const run = spoke(stack);
    const account = registry(stack).accountId;
    const decisions: Record<string, string> = {};
    const note = async (what: string, decision: Promise<string>) => (decisions[what] = await decision);
    // Its Transit Gateway attachment belongs to the spoke account: its ARN carries that account.
    const attachment = `arn:aws:ec2:${REGION}:${account}:transit-gateway-attachment/${run.outputs.transitGatewayAttachmentId}`;
    const association = hubOwned(run, 'aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation')[0];
    const propagation = hubOwned(run, 'aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation')[0];
    const routeTable = (id: string) => `arn:aws:ec2:${REGION}:${HUB_ACCOUNT}:transit-gateway-route-table/${id}`;
    for (const target of [attachment, routeTable(association.inputs.transitGatewayRouteTableId)]) {
      await note(`associate ${target}`, asRegistrar(stack, 'ec2:AssociateTransitGatewayRouteTable', target));
      await note(`disassociate ${target}`, asRegistrar(stack, 'ec2:DisassociateTransitGatewayRouteTable', target));
    }
    for (const target of [attachment, routeTable(propagation.inputs.transitGatewayRouteTableId)]) {
      await note(`propagate ${target}`, asRegistrar(stack, 'ec2:EnableTransitGatewayRouteTablePropagation', target));
    }
    const ownTg = hubOwned(run, 'aws:lb/targetGroup:TargetGroup')[0];
    const owned = { [`aws:ResourceTag/${SPOKE_ACCOUNT_TAG}`]: account };
    const tagged = { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: account, 'aws:TagKeys': [SPOKE_ACCOUNT_TAG, 'ai-gateway:stack', 'managed-by'] };
    await note('create own target group', asRegistrar(stack, 'elasticloadbalancing:CreateTargetGroup', elbArn('targetgroup', ownTg.name), tagged));
    // Tag-on-create (elasticloadbalancing:AddTags) is not simulated: the published data lists only ELB v1's
    // load balancer type for AddTags, so the simulator rejects a target group ARN (see iam-data.test.ts).
    for (const attach of hubOwned(run, 'aws:lb/targetGroupAttachment:TargetGroupAttachment')) {
      const tg: string = attach.inputs.targetGroupArn;
      const context = tg.includes(`/${ownTg.name}/`) ? owned : {};
      await note(`register ${attach.name}`, asRegistrar(stack, 'elasticloadbalancing:RegisterTargets', tg, context));
      await note(`deregister ${attach.name}`, asRegistrar(stack, 'elasticloadbalancing:DeregisterTargets', tg, context));
    }
    const listener = hubOwned(run, 'aws:lb/listener:Listener')[0];
    await note('create own listener', asRegistrar(stack, 'elasticloadbalancing:CreateListener', listener.inputs.loadBalancerArn, tagged));
    await note(
      'delete own listener',
      asRegistrar(
        stack,
        'elasticloadbalancing:DeleteListener',
        `arn:aws:elasticloadbalancing:${REGION}:${HUB_ACCOUNT}:listener/${listener.inputs.loadBalancerArn.split('loadbalancer/')[1]}/aaaa`,
        owned,
      ),
    );
    const record = hubOwned(run, 'aws:route53/record:Record')[0];
    await note(
      'write its record',
      asRegistrar(stack, 'route53:ChangeResourceRecordSets', `arn:aws:route53:::hostedzone/${record.inputs.zoneId}`, {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [record.inputs.name],
        'route53:ChangeResourceRecordSetsRecordTypes': [record.inputs.type],
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
      }),
    );
    await note('create its health check', asRegistrar(stack, 'route53:CreateHealthCheck', '*'));
    await note('update its health check', asRegistrar(stack, 'route53:UpdateHealthCheck', `arn:aws:route53:::healthcheck/${stack}-health-check-id`));
    for (const alarm of ofType(run, 'aws:cloudwatch/metricAlarm:MetricAlarm').filter((a) => a.provider === 'hub-account')) {
      await note(`alarm ${alarm.inputs.name}`, asRegistrar(stack, 'cloudwatch:PutMetricAlarm', `arn:aws:cloudwatch:${REGION}:${HUB_ACCOUNT}:alarm:${alarm.inputs.name}`));
    }
    expect(Object.keys(decisions).length).toBeGreaterThan(15);
    expect(Object.entries(decisions).filter(([, d]) => d !== 'Allowed')).toEqual([]);
  });
});

describe('reaching past its own things: denied', () => {
  test('deleting or changing a hub listener, load balancer or shared target group', async () => {
    const hubListener = ofType(estate.hub, 'aws:lb/listener:Listener')[0];
    const listenerArn = `arn:aws:elasticloadbalancing:${REGION}:${HUB_ACCOUNT}:listener/${String(hubListener.inputs.loadBalancerArn).split('loadbalancer/')[1]}/0123456789abcdef`;
    // Even were the hub's listener tagged as the spoke's own, the explicit deny holds.
    const claimed = { [`aws:ResourceTag/${SPOKE_ACCOUNT_TAG}`]: '222222222222' };
    expect(await asRegistrar('spoke-a', 'elasticloadbalancing:DeleteListener', listenerArn, claimed)).toBe('ExplicitlyDenied');
    expect(await asRegistrar('spoke-a', 'elasticloadbalancing:ModifyListener', listenerArn, claimed)).toBe('ExplicitlyDenied');
    expect(await asRegistrar('spoke-a', 'elasticloadbalancing:DeleteLoadBalancer', hubOut().hubNlbArns.bedrock)).toBe('ExplicitlyDenied');
    expect(await asRegistrar('spoke-a', 'elasticloadbalancing:DeleteTargetGroup', hubOut().hubNlbTargetGroupArns.bedrock, claimed)).toBe('ExplicitlyDenied');
  });

  test("registering into another spoke's target group, or changing its listener", async () => {
    const otherTg = hubOwned(spoke('spoke-b'), 'aws:lb/targetGroup:TargetGroup')[0];
    const othersTag = { [`aws:ResourceTag/${SPOKE_ACCOUNT_TAG}`]: registry('spoke-b').accountId };
    expect(await asRegistrar('spoke-a', 'elasticloadbalancing:RegisterTargets', elbArn('targetgroup', otherTg.name), othersTag)).not.toBe('Allowed');
    expect(await asRegistrar('spoke-a', 'elasticloadbalancing:DeleteTargetGroup', elbArn('targetgroup', otherTg.name), othersTag)).not.toBe('Allowed');
    expect(
      await asRegistrar(
        'spoke-a',
        'elasticloadbalancing:DeleteListener',
        `arn:aws:elasticloadbalancing:${REGION}:${HUB_ACCOUNT}:listener/net/hub-third-party-nlb/0123456789abcdef/bbbb`,
        othersTag,
      ),
    ).not.toBe('Allowed');
    // Nor can it create one in another spoke's name.
    const forged = { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: registry('spoke-b').accountId };
    expect(await asRegistrar('spoke-a', 'elasticloadbalancing:CreateTargetGroup', elbArn('targetgroup', 'forged'), forged)).not.toBe('Allowed');
  });

  test("changing a record outside the spokes' names, or of another type", async () => {
    const zone = `arn:aws:route53:::hostedzone/${hubOut().privateZoneId}`;
    const change = (names: string[], types = ['A']) =>
      asRegistrar('spoke-a', 'route53:ChangeResourceRecordSets', zone, {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': names,
        'route53:ChangeResourceRecordSetsRecordTypes': types,
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
      });
    expect(await change(['bedrock.gateway.internal'])).not.toBe('Allowed');
    expect(await change(['bedrock.spokes.gateway.internal', 'third-party.gateway.internal'])).not.toBe('Allowed');
    expect(await change(['bedrock.spokes.gateway.internal'], ['NS'])).not.toBe('Allowed');
  });

  test("changing or deleting a hub health check; unhooking the hub's own attachments", async () => {
    const check = ofType(estate.hub, 'aws:route53/healthCheck:HealthCheck')[0];
    expect(await asRegistrar('spoke-a', 'route53:DeleteHealthCheck', `arn:aws:route53:::healthcheck/${check.name}-id`)).toBe('ExplicitlyDenied');
    const hubAttachment = ofType(estate.hub, 'aws:ec2transitgateway/vpcAttachment:VpcAttachment')[0];
    expect(await asRegistrar('spoke-a', 'ec2:DisassociateTransitGatewayRouteTable', `arn:aws:ec2:${REGION}:${HUB_ACCOUNT}:transit-gateway-attachment/${hubAttachment.name}-id`)).toBe(
      'ExplicitlyDenied',
    );
    // The hub's route table (spokes would see each other) is not one a spoke may associate with.
    expect(
      await asRegistrar('spoke-a', 'ec2:AssociateTransitGatewayRouteTable', `arn:aws:ec2:${REGION}:${HUB_ACCOUNT}:transit-gateway-route-table/${hubOut().transitGatewayHubRouteTableId}`),
    ).not.toBe('Allowed');
  });
});

describe('third-party API keys in the hub', () => {
  const secretArn = () => hubOut().thirdPartySecretArns.openai as string;
  const read = (principal: string, identity: Call['identity']) =>
    decide({
      principal,
      action: 'secretsmanager:GetSecretValue',
      resource: secretArn(),
      resourceAccount: HUB_ACCOUNT,
      identity,
      resourcePolicy: policyOf(estate, 'hub-secrets-openai', 'resource'),
    });

  test("the third-party spoke's task execution role, with the policy its stack gives it: allowed", async () => {
    const role = `arn:aws:iam::${registry('spoke-b').accountId}:role/ai-gateway-spoke-b-execution`;
    expect(await read(role, [{ name: 'execution', policy: policyOf(estate, 'spoke-b-gateway-execution', 'identity') }])).toBe('Allowed');
  });

  test('an unrelated role, even one allowed everything in its own account: denied', async () => {
    expect(await read(`arn:aws:iam::${registry('spoke-b').accountId}:role/some-other-role`, [DEPLOY_ROLE_POLICY])).not.toBe('Allowed');
    // A Bedrock spoke's execution role has no business with third-party keys.
    expect(await read(`arn:aws:iam::${registry('spoke-a').accountId}:role/ai-gateway-spoke-a-execution`, [DEPLOY_ROLE_POLICY])).not.toBe('Allowed');
    expect(await read('arn:aws:iam::999999999999:role/ai-gateway-spoke-b-execution', [DEPLOY_ROLE_POLICY])).not.toBe('Allowed');
  });
});

describe("a Bedrock spoke's task calling its models", () => {
  const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
  // iam-simulate knows no Region-less ARN (a global profile's destination): tests/infra/spokes.test.ts asserts the policy names it.
  const invoke = (resource: string) => {
    const account = registry('spoke-a').accountId;
    return decide({
      principal: `arn:aws:iam::${account}:role/ai-gateway-spoke-a-task`,
      action: 'bedrock:InvokeModel',
      resource,
      resourceAccount: account,
      identity: [{ name: 'task', policy: policyOf(estate, 'spoke-a-gateway-task', 'identity') }],
    });
  };

  test('a global profile: the profile and the model in each calling Region: allowed', async () => {
    const account = registry('spoke-a').accountId;
    for (const region of ['us-east-1', 'us-west-2']) {
      expect(await invoke(`arn:aws:bedrock:${region}:${account}:inference-profile/global.${SONNET}`)).toBe('Allowed');
      expect(await invoke(`arn:aws:bedrock:${region}::foundation-model/${SONNET}`)).toBe('Allowed');
    }
  });

  test('a model the stack does not name, or a Region its profile does not route to: denied', async () => {
    expect(await invoke('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-1-20250805-v1:0')).not.toBe('Allowed');
    expect(await invoke('arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0')).not.toBe('Allowed');
    expect(await invoke(`arn:aws:bedrock:eu-west-1::foundation-model/${SONNET}`)).not.toBe('Allowed');
  });
});
