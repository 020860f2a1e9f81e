/**
 * The hub stack as declared by the real program for Pulumi.hub.yaml, under mocks.
 */
import { HEALTH_INTERVAL_SECONDS } from '../../infra/lib/health';
import { cidrContainsIp } from '../../infra/lib/cidr';
import { LAZY_PACKAGES } from '../../infra/lib/bundle';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fakeApiKeys, fakeSecretValue, isSecretInput, ofType, plain, readStackConfigFile, REPO, runStack, type RecordedResource, type StackRun } from './pulumi-harness';
import { configSchema } from '../../runtime/src/config/schema';

/* eslint-disable @typescript-eslint/no-explicit-any -- config documents are JSON */
const config = Object.fromEntries(Object.entries(readStackConfigFile('hub')).map(([k, v]) => [k.replace(/^ai-gateway:/, ''), parseMaybe(v)])) as Record<string, any>;

function parseMaybe(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

let hub: StackRun;
beforeAll(async () => {
  hub = await runStack('hub', { apiKeys: fakeApiKeys() });
});

const one = (type: string, name?: string): RecordedResource => {
  const found = ofType(hub, type).filter((r) => name === undefined || r.name === name);
  expect(found).toHaveLength(1);
  return found[0];
};

describe('accounts and providers', () => {
  test('every AWS resource is declared through the hub-account provider', () => {
    const aws = hub.resources.filter((r) => r.type.startsWith('aws:'));
    expect(aws.length).toBeGreaterThan(100);
    expect(aws.filter((r) => r.provider !== 'hub-account').map((r) => r.name)).toEqual([]);
    expect(hub.calls.length).toBeGreaterThan(0);
    expect(hub.calls.filter((c) => c.provider !== 'hub-account')).toEqual([]);
    const provider = one('pulumi:providers:aws', 'hub-account');
    expect(JSON.parse(provider.inputs.allowedAccountIds)).toEqual([config.account.id]);
  });

  test('the program is built from components (hub, network, transit, provider hubs, proxy, API)', () => {
    const components = hub.resources.filter((r) => !r.custom).map((r) => r.type);
    for (const type of [
      'ai-gateway:hub:HubStack',
      'ai-gateway:lib:Network',
      'ai-gateway:hub:Transit',
      'ai-gateway:hub:ProviderHub',
      'ai-gateway:hub:ProxyFunction',
      'ai-gateway:hub:GatewayApi',
    ]) {
      expect(components).toContain(type);
    }
  });
});

describe('Lambda proxy', () => {
  test('runs in the hub VPC private subnets with a security group that admits nothing', () => {
    const fn = one('aws:lambda/function:Function');
    const privateSubnets = ofType(hub, 'aws:ec2/subnet:Subnet').filter((s) => s.name.includes('private'));
    expect(privateSubnets).toHaveLength(config.network.azCount);
    expect(fn.inputs.vpcConfig.subnetIds.sort()).toEqual(privateSubnets.map((s) => `${s.name}-id`).sort());
    const sg = ofType(hub, 'aws:ec2/securityGroup:SecurityGroup').find((s) => fn.inputs.vpcConfig.securityGroupIds.includes(`${s.name}-id`));
    expect(sg?.inputs.ingress ?? []).toEqual([]);
    expect(fn.inputs.environment.variables.GATEWAY_ROLE).toBe('proxy');
    expect(fn.inputs.kmsKeyArn).toMatch(/^arn:aws:kms:/);
  });

  test('is published, served by an alias with provisioned concurrency >= 1, invoked only through that alias', () => {
    const fn = one('aws:lambda/function:Function');
    expect(fn.inputs.publish).toBe(true);
    const alias = one('aws:lambda/alias:Alias');
    expect(alias.inputs.functionVersion).toBe('1');
    const warm = one('aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig');
    expect(warm.inputs.qualifier).toBe(alias.inputs.name);
    expect(warm.inputs.provisionedConcurrentExecutions).toBeGreaterThanOrEqual(1);
    expect(warm.inputs.provisionedConcurrentExecutions).toBe(config.lambda.provisionedConcurrency);
    const permission = one('aws:lambda/permission:Permission');
    expect(permission.inputs.qualifier).toBe(alias.inputs.name);
    expect(permission.inputs.principal).toBe('apigateway.amazonaws.com');
    const integrations = ofType(hub, 'aws:apigateway/integration:Integration');
    expect(integrations.length).toBeGreaterThan(0);
    for (const integration of integrations) expect(integration.inputs.uri).toContain(`:function:hub-proxy-fn:${alias.inputs.name}/`);
  });

  test('is the esbuild bundle alone (its entry, lazy.js and the stubs of the packages in it; no repository sources)', async () => {
    const fn = one('aws:lambda/function:Function');
    expect(fn.inputs.handler).toBe('index.handler');
    // A supported Node LTS (nodejs20.x is deprecated: Lambda blocks creating, then updating, its functions).
    expect(fn.inputs.runtime).toBe('nodejs24.x');
    expect(fn.inputs.architectures).toEqual(['arm64']);
    const assets = await fn.inputs.code.assets;
    expect(Object.keys(assets).sort()).toEqual(['index.js', 'lazy.js', ...LAZY_PACKAGES.map((p) => `node_modules/${p}/index.js`)].sort());
    for (const file of ['index.js', 'lazy.js']) {
      const text: string = await assets[file].text;
      expect(text.length).toBeGreaterThan(10_000);
      expect(text).not.toMatch(/^import |\bfrom ['"]\.\//m);
    }
    expect(await assets['node_modules/ioredis/index.js'].text).toBe(`module.exports = require("../../lazy.js")["ioredis"];\n`);
  });
});

describe('API Gateway', () => {
  test('a regional REST API proxies the client routes, and only them, to the Lambda with response streaming', () => {
    const api = one('aws:apigateway/restApi:RestApi');
    expect(api.inputs.endpointConfiguration.types).toBe('REGIONAL');
    const root = 'root'; // the mocked rootResourceId
    const resources = ofType(hub, 'aws:apigateway/resource:Resource');
    // The routes: /v1/{proxy+} (every OpenAI-compatible path) and /inference; nothing else.
    const path = (r: RecordedResource): string => {
      const parent = resources.find((p) => `${p.name}-id` === r.inputs.parentId);
      return `${parent ? path(parent) : r.inputs.parentId === root ? '' : '?'}/${r.inputs.pathPart}`;
    };
    expect(resources.map(path).sort()).toEqual(['/inference', '/v1', '/v1/{proxy+}']);
    const methods = ofType(hub, 'aws:apigateway/method:Method');
    const routed = methods.map((m) => `${m.inputs.httpMethod} ${path(resources.find((r) => `${r.name}-id` === m.inputs.resourceId)!)}`).sort();
    expect(routed).toEqual(['ANY /v1/{proxy+}', 'POST /inference']);
    for (const m of methods) expect(m.inputs).toMatchObject({ apiKeyRequired: true, authorization: 'NONE' });
    const integrations = ofType(hub, 'aws:apigateway/integration:Integration');
    expect(integrations.map((i) => i.inputs.resourceId).sort()).toEqual(methods.map((m) => m.inputs.resourceId).sort());
    for (const integration of integrations) {
      expect(integration.inputs).toMatchObject({ type: 'AWS_PROXY', integrationHttpMethod: 'POST', responseTransferMode: 'STREAM' });
      expect(integration.inputs.uri).toMatch(/:lambda:path\/2021-11-15\/functions\/.+\/response-streaming-invocations$/);
      expect(integration.inputs.timeoutMilliseconds).toBe(config.lambda.timeoutSeconds * 1000);
    }
    // A new deployment whenever any route or gateway response changes.
    const triggers = JSON.parse(one('aws:apigateway/deployment:Deployment').inputs.triggers.redeployment) as unknown[][];
    const responses = ofType(hub, 'aws:apigateway/response:Response');
    expect(triggers.map((t) => t[0]).sort()).toEqual([...methods, ...responses].map((m) => `${m.name}-id`).sort());
  });

  // The contract: every error in the OpenAI shape. These come from API Gateway itself, before the Lambda.
  test("API Gateway's own errors (API key, team throttle and quota, WAF, unknown path, size, timeout, any other) answer in the OpenAI error shape with the request id", () => {
    const api = one('aws:apigateway/restApi:RestApi');
    const responses = ofType(hub, 'aws:apigateway/response:Response');
    const byType = Object.fromEntries(responses.map((r) => [r.inputs.responseType as string, r.inputs]));
    const listed = [
      'DEFAULT_4XX',
      'DEFAULT_5XX',
      'INVALID_API_KEY',
      'MISSING_AUTHENTICATION_TOKEN',
      'THROTTLED',
      'QUOTA_EXCEEDED',
      'WAF_FILTERED',
      'REQUEST_TOO_LARGE',
      'INTEGRATION_TIMEOUT',
    ];
    expect(Object.keys(byType).sort()).toEqual(listed.sort());
    /** The body as API Gateway renders the template: `$context.error.messageString` is its own message, quoted. */
    const rendered = (type: string) => {
      const template = byType[type].responseTemplates['application/json'] as string;
      // VTL: no other reference or directive in it.
      expect(template.replace('$context.error.messageString', '')).not.toMatch(/[$#]/);
      return JSON.parse(template.replace('$context.error.messageString', JSON.stringify('Endpoint request timed out'))) as { error: Record<string, unknown> };
    };
    for (const type of listed) {
      expect(byType[type]).toMatchObject({ restApiId: `${api.name}-id`, responseParameters: { 'gatewayresponse.header.x-request-id': 'context.requestId' } });
      expect(rendered(type)).toEqual({ error: { message: expect.stringMatching(/\w/), type: expect.stringMatching(/_error$/), code: expect.stringMatching(/^[a-z_]+$/), param: null } });
    }
    expect(rendered('INVALID_API_KEY').error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key', message: expect.stringMatching(/x-api-key/) });
    expect(rendered('THROTTLED').error).toMatchObject({ type: 'rate_limit_error', code: 'usage_plan_throttled' });
    expect(rendered('INTEGRATION_TIMEOUT').error).toMatchObject({ type: 'timeout_error', code: 'deadline_exceeded', message: 'Endpoint request timed out' });
  });

  test('each app team has a usage plan with its throttle and quota, and an API key bound to it', () => {
    const plans = ofType(hub, 'aws:apigateway/usagePlan:UsagePlan');
    const keys = ofType(hub, 'aws:apigateway/apiKey:ApiKey');
    const bindings = ofType(hub, 'aws:apigateway/usagePlanKey:UsagePlanKey');
    expect(plans).toHaveLength(config.api.teams.length);
    for (const team of config.api.teams) {
      const plan = plans.find((p) => p.name.endsWith(`plan-${team.name}`));
      expect(plan?.inputs.throttleSettings).toEqual(team.throttle);
      expect(plan?.inputs.quotaSettings).toEqual(team.quota);
      expect(plan?.inputs.apiStages[0].stage).toBe(config.api.stageName);
      const key = keys.find((k) => k.name.endsWith(`key-${team.name}`));
      expect(key?.inputs.value).toBeUndefined();
      expect(bindings.find((b) => b.inputs.keyId === `${key?.name}-id`)?.inputs.usagePlanId).toBe(`${plan?.name}-id`);
    }
  });

  test('outputs name usage plans and keys by team, with ids only', () => {
    expect(Object.keys(hub.outputs.usagePlanIds).sort()).toEqual(config.api.teams.map((t: { name: string }) => t.name).sort());
    expect(hub.outputs.apiKeyIds.search).toBe('hub-gateway-key-search-id');
    expect(hub.outputs.gatewayUrl).toBe(`https://${config.api.domain.name}`);
    expect(hub.outputs.openaiBaseUrl).toBe(`https://${config.api.domain.name}/v1`);
  });

  test('a WAF rate-based rule guards the stage, whose logs are KMS-encrypted', () => {
    const acl = one('aws:wafv2/webAcl:WebAcl');
    const rate = acl.inputs.rules.find((r: any) => r.statement.rateBasedStatement);
    expect(rate.statement.rateBasedStatement.limit).toBe(config.api.wafRateLimitPer5Minutes);
    expect(rate.action).toEqual({ block: {} });
    const stage = one('aws:apigateway/stage:Stage');
    expect(one('aws:wafv2/webAclAssociation:WebAclAssociation').inputs.resourceArn).toMatch(new RegExp(`/stages/${config.api.stageName}$`));
    const logs = ofType(hub, 'aws:cloudwatch/logGroup:LogGroup').find((l) => stage.inputs.accessLogSettings.destinationArn.endsWith(l.name));
    expect(logs?.inputs.kmsKeyId).toMatch(/^arn:aws:kms:/);
  });

  test("the stage's execution logs go to a declared group (encrypted, 90 days), not one API Gateway creates unencrypted and keeps forever", () => {
    const settings = one('aws:apigateway/methodSettings:MethodSettings');
    expect(settings.inputs.settings.loggingLevel).toBe('ERROR');
    const restApiId = `${one('aws:apigateway/restApi:RestApi').name}-id`;
    const group = ofType(hub, 'aws:cloudwatch/logGroup:LogGroup').find((l) => l.inputs.name === `API-Gateway-Execution-Logs_${restApiId}/${config.api.stageName}`);
    expect(group?.inputs).toMatchObject({ retentionInDays: 90, kmsKeyId: expect.stringMatching(/^arn:aws:kms:/) });
    // Created before logging is switched on: otherwise API Gateway creates the group itself, and ours would collide with it.
    expect(settings.dependsOn).toContain(group?.name);
  });

  test('the custom domain enforces TLS 1.2 and the default endpoint is off', () => {
    expect(one('aws:apigateway/domainName:DomainName').inputs.securityPolicy).toBe('TLS_1_2');
    expect(one('aws:apigateway/restApi:RestApi').inputs.disableExecuteApiEndpoint).toBe(true);
  });

  test("the custom domain resolves: an alias record in its zone to the API's regional name, and gatewayUrl is that record", () => {
    const domain = one('aws:apigateway/domainName:DomainName');
    const record = ofType(hub, 'aws:route53/record:Record').find((r) => r.inputs.zoneId === config.api.domain.hostedZoneId);
    expect(record?.inputs).toMatchObject({
      name: config.api.domain.name,
      type: 'A',
      aliases: [{ name: 'd-abc123def4.execute-api.us-east-1.amazonaws.com', zoneId: 'Z1UJRXOUMOOFQ8', evaluateTargetHealth: false }],
    });
    expect(domain.inputs.domainName).toBe(config.api.domain.name);
    expect(new URL(hub.outputs.gatewayUrl).hostname).toBe(record?.inputs.name);
    expect(hub.outputs.apiDomainTarget).toBe('d-abc123def4.execute-api.us-east-1.amazonaws.com');
  });

  test('a 4-byte on-prem ASN above 2147483647 (the private 4200000000+ range) goes in bgpAsnExtended, which EC2 takes, not bgpAsn', async () => {
    const file = readStackConfigFile('hub');
    const onPrem = { ...JSON.parse(file['ai-gateway:onPrem']), bgpAsn: 4_200_000_001 };
    const run = await runStack('hub', { config: { ...file, 'ai-gateway:onPrem': JSON.stringify(onPrem) }, apiKeys: fakeApiKeys() });
    const cgw = ofType(run, 'aws:ec2/customerGateway:CustomerGateway')[0];
    expect(cgw.inputs.bgpAsnExtended).toBe('4200000001');
    expect(cgw.inputs.bgpAsn).toBeUndefined();
    // The 2-byte (and low 4-byte) ASNs stay in bgpAsn.
    expect(one('aws:ec2/customerGateway:CustomerGateway').inputs.bgpAsnExtended).toBeUndefined();
  });

  test('a Cognito authorizer appears only when the config names user pools', async () => {
    expect(ofType(hub, 'aws:apigateway/authorizer:Authorizer')).toEqual([]);
    const file = readStackConfigFile('hub');
    const api = { ...JSON.parse(file['ai-gateway:api']), cognitoUserPoolArns: ['arn:aws:cognito-idp:us-east-1:111111111111:userpool/us-east-1_AbCdEf123'] };
    const withCognito = await runStack('hub', { config: { ...file, 'ai-gateway:api': JSON.stringify(api) }, apiKeys: fakeApiKeys() });
    const authorizer = ofType(withCognito, 'aws:apigateway/authorizer:Authorizer');
    expect(authorizer).toHaveLength(1);
    expect(authorizer[0].inputs).toMatchObject({ type: 'COGNITO_USER_POOLS', providerArns: api.cognitoUserPoolArns });
    const methods = ofType(withCognito, 'aws:apigateway/method:Method');
    expect(methods).toHaveLength(2);
    for (const method of methods) expect(method.inputs).toMatchObject({ authorization: 'COGNITO_USER_POOLS', authorizerId: `${authorizer[0].name}-id`, apiKeyRequired: true });
  });
});

describe('provider hubs', () => {
  const kinds = (): string[] => config.providerHubs;

  test('one internal NLB per provider kind, on fixed private IPs, with a /healthz target group', () => {
    const nlbs = ofType(hub, 'aws:lb/loadBalancer:LoadBalancer');
    expect(nlbs.map((n) => n.name).sort()).toEqual(
      kinds()
        .map((k) => `hub-${k}-nlb`)
        .sort(),
    );
    const subnets = ofType(hub, 'aws:ec2/subnet:Subnet');
    const allIps: string[] = [];
    for (const nlb of nlbs) {
      expect(nlb.inputs).toMatchObject({ internal: true, loadBalancerType: 'network' });
      expect(nlb.inputs.subnetMappings).toHaveLength(config.network.azCount);
      for (const mapping of nlb.inputs.subnetMappings) {
        const subnet = subnets.find((s) => `${s.name}-id` === mapping.subnetId);
        expect(cidrContainsIp(subnet?.inputs.cidrBlock, mapping.privateIpv4Address)).toBe(true);
        allIps.push(mapping.privateIpv4Address);
      }
    }
    expect(new Set(allIps).size).toBe(allIps.length);
    expect(hub.outputs.hubNlbIps.bedrock).toEqual(nlbs.find((n) => n.name === 'hub-bedrock-nlb')?.inputs.subnetMappings.map((m: any) => m.privateIpv4Address));
  });

  test("load balancer and target group names fit the 32-character limit with Pulumi's suffix", () => {
    const named = [...ofType(hub, 'aws:lb/loadBalancer:LoadBalancer'), ...ofType(hub, 'aws:lb/targetGroup:TargetGroup')];
    named.forEach((r) => expect(`${r.name}-1234567`.length).toBeLessThanOrEqual(32));
  });

  test('target groups check /healthz over HTTP every 5 s (the NLB minimum), 2 checks either way', () => {
    const groups = ofType(hub, 'aws:lb/targetGroup:TargetGroup');
    expect(groups).toHaveLength(kinds().length);
    for (const tg of groups) {
      expect(tg.inputs.targetType).toBe('ip');
      expect(tg.inputs.healthCheck).toMatchObject({ protocol: 'HTTP', path: '/healthz', interval: 5, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' });
      expect(tg.inputs.healthCheck.timeout).toBeLessThan(HEALTH_INTERVAL_SECONDS);
    }
    expect(Object.keys(hub.outputs.hubNlbTargetGroupArns).sort()).toEqual([...kinds()].sort());
  });

  test('DNS: weighted non-alias A records with TTL 10, each behind a health check', () => {
    const records = ofType(hub, 'aws:route53/record:Record').filter((r) => r.inputs.zoneId === 'Z0PRIVATEZONE');
    expect(records).toHaveLength(kinds().length * config.network.azCount);
    const checks = ofType(hub, 'aws:route53/healthCheck:HealthCheck');
    for (const record of records) {
      expect(record.inputs).toMatchObject({ type: 'A', ttl: 10, zoneId: 'Z0PRIVATEZONE' });
      expect(record.inputs.aliases).toBeUndefined();
      expect(record.inputs.weightedRoutingPolicies).toEqual([{ weight: 100 }]);
      expect(record.inputs.name).toMatch(/^(bedrock|third-party|on-prem)\.gateway\.internal$/);
      expect(checks.map((c) => `${c.name}-id`)).toContain(record.inputs.healthCheckId);
    }
    const byName = records.filter((r) => r.inputs.name === 'bedrock.gateway.internal').map((r) => r.inputs.records[0]);
    expect(byName.sort()).toEqual([...hub.outputs.hubNlbIps.bedrock].sort());
  });

  test('health checks use CloudWatch alarms (private IPs are out of the checkers reach) at the 60 s alarm period', () => {
    const alarms = ofType(hub, 'aws:cloudwatch/metricAlarm:MetricAlarm');
    for (const check of ofType(hub, 'aws:route53/healthCheck:HealthCheck')) {
      expect(check.inputs.type).toBe('CLOUDWATCH_METRIC');
      expect(check.inputs.cloudwatchAlarmRegion).toBe(config.account.region);
      const alarm = alarms.find((a) => a.name === check.inputs.cloudwatchAlarmName);
      expect(alarm?.inputs).toMatchObject({ namespace: 'AWS/NetworkELB', metricName: 'HealthyHostCount', period: 60, comparisonOperator: 'LessThanThreshold', threshold: 1 });
      expect(alarm?.inputs.dimensions.AvailabilityZone).toMatch(/^us-east-1[a-d]$/);
    }
  });

  test('the private zone is attached to the hub VPC', () => {
    const zone = one('aws:route53/zone:Zone');
    expect(zone.inputs.name).toBe(config.privateZone);
    expect(zone.inputs.vpcs).toEqual([{ vpcId: 'hub-vpc-id', vpcRegion: config.account.region }]);
    expect(hub.outputs.privateZoneId).toBe('Z0PRIVATEZONE');
  });
});

describe('Transit Gateway, RAM and VPN', () => {
  test('the TGW auto-accepts shared attachments and keeps route tables explicit', () => {
    const tgw = one('aws:ec2transitgateway/transitGateway:TransitGateway');
    expect(tgw.inputs).toMatchObject({ autoAcceptSharedAttachments: 'enable', defaultRouteTableAssociation: 'disable', defaultRouteTablePropagation: 'disable' });
    expect(hub.outputs.transitGatewayId).toBe('hub-transit-tgw-id');
    expect(hub.outputs.transitGatewayRouteTableId).toBe('hub-transit-spokes-rt-id');
  });

  test('the TGW is shared through RAM with the organization and the external accounts', () => {
    const share = one('aws:ram/resourceShare:ResourceShare');
    expect(share.inputs.allowExternalPrincipals).toBe(true);
    expect(one('aws:ram/resourceAssociation:ResourceAssociation').inputs.resourceArn).toMatch(/hub-transit-tgw$/);
    const principals = ofType(hub, 'aws:ram/principalAssociation:PrincipalAssociation').map((p) => p.inputs.principal);
    expect(principals.sort()).toEqual([config.sharing.organizationArn, ...config.sharing.externalAccountIds].sort());
    expect(hub.outputs.ramShareArn).toBe(`arn:aws:ram:us-east-1:111111111111:${share.name}`);
  });

  test('hub private subnets route the whole spoke pool to the TGW', () => {
    const routes = ofType(hub, 'aws:ec2/route:Route').filter((r) => r.inputs.destinationCidrBlock === config.network.spokeCidrPool);
    expect(routes).toHaveLength(config.network.azCount);
    routes.forEach((r) => expect(r.inputs.transitGatewayId).toBe('hub-transit-tgw-id'));
  });

  test('a Site-to-Site VPN on the TGW reaches the on-prem CIDR', () => {
    const cgw = one('aws:ec2/customerGateway:CustomerGateway');
    expect(cgw.inputs).toMatchObject({ ipAddress: config.onPrem.customerGatewayIp, bgpAsn: String(config.onPrem.bgpAsn), type: 'ipsec.1' });
    const vpn = one('aws:ec2/vpnConnection:VpnConnection');
    expect(vpn.inputs).toMatchObject({
      customerGatewayId: `${cgw.name}-id`,
      transitGatewayId: 'hub-transit-tgw-id',
      type: 'ipsec.1',
      staticRoutesOnly: true,
      presharedKeyStorage: 'SecretsManager',
    });
    expect(vpn.inputs.tunnel1IkeVersions).toEqual(['ikev2']);
    const route = one('aws:ec2transitgateway/route:Route');
    expect(route.inputs).toMatchObject({ destinationCidrBlock: config.onPrem.cidr, transitGatewayAttachmentId: 'tgw-attach-vpn', transitGatewayRouteTableId: 'hub-transit-spokes-rt-id' });
  });
});

describe('security and encryption', () => {
  test('no security group admits traffic from the internet', () => {
    for (const sg of ofType(hub, 'aws:ec2/securityGroup:SecurityGroup')) {
      for (const rule of sg.inputs.ingress ?? []) {
        expect(rule.cidrBlocks ?? []).not.toContain('0.0.0.0/0');
        expect(rule.ipv6CidrBlocks ?? []).not.toContain('::/0');
      }
    }
  });

  test('data at rest is KMS-encrypted: logs, secrets, SNS, S3, ECR; the key rotates', () => {
    const kmsArn = /^arn:aws:kms:/;
    ofType(hub, 'aws:cloudwatch/logGroup:LogGroup').forEach((l) => expect(l.inputs.kmsKeyId).toMatch(kmsArn));
    ofType(hub, 'aws:secretsmanager/secret:Secret').forEach((s) => expect(s.inputs.kmsKeyId).toMatch(kmsArn));
    expect(one('aws:sns/topic:Topic').inputs.kmsMasterKeyId).toBeDefined();
    const sse = one('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration');
    expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault).toMatchObject({ sseAlgorithm: 'aws:kms', kmsMasterKeyId: expect.stringMatching(kmsArn) });
    const repo = one('aws:ecr/repository:Repository');
    expect(repo.inputs).toMatchObject({ imageTagMutability: 'IMMUTABLE', imageScanningConfiguration: { scanOnPush: true } });
    expect(repo.inputs.encryptionConfigurations[0]).toMatchObject({ encryptionType: 'KMS', kmsKey: expect.stringMatching(kmsArn) });
    expect(one('aws:kms/key:Key').inputs.enableKeyRotation).toBe(true);
  });

  test('the image lifecycle expires untagged images only: a spoke may still run any tagged version', () => {
    const rules = JSON.parse(one('aws:ecr/lifecyclePolicy:LifecyclePolicy').inputs.policy).rules;
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.selection.tagStatus).toBe('untagged');
  });

  test("third-party secrets hold the configured keys and are readable by the third-party spokes' task execution roles only", () => {
    const secrets = ofType(hub, 'aws:secretsmanager/secret:Secret').filter((s) => s.inputs.name.startsWith('ai-gateway/third-party/'));
    expect(secrets.map((s) => s.inputs.name).sort()).toEqual(config.thirdParty.map((t: { name: string }) => `ai-gateway/third-party/${t.name}`).sort());
    const versions = ofType(hub, 'aws:secretsmanager/secretVersion:SecretVersion');
    for (const secret of secrets) expect(versions.filter((v) => v.inputs.secretId === `${secret.name}-id`)).toHaveLength(1);
    const thirdParty = config.spokes.filter((s: any) => s.kind === 'third-party');
    expect(thirdParty.length).toBeGreaterThan(0);
    const policies = ofType(hub, 'aws:secretsmanager/secretPolicy:SecretPolicy');
    expect(policies).toHaveLength(secrets.length);
    for (const policy of policies) {
      expect(policy.inputs.blockPublicPolicy).toBe(true);
      expect(JSON.parse(policy.inputs.policy).Statement).toEqual([
        expect.objectContaining({
          Principal: { AWS: thirdParty.map((s: any) => `arn:aws:iam::${s.accountId}:root`) },
          Condition: { ArnEquals: { 'aws:PrincipalArn': thirdParty.map((s: any) => `arn:aws:iam::${s.accountId}:role/ai-gateway-${s.stack}-execution`) } },
        }),
      ]);
    }
  });

  test('no trust or resource policy allows every principal (Principal "*") or a whole organization', () => {
    const documents = hub.resources.flatMap((r) =>
      ['policy', 'assumeRolePolicy'].filter((k) => typeof r.inputs[k] === 'string').map((k) => ({ name: r.name, doc: JSON.parse(r.inputs[k]) })),
    );
    expect(documents.length).toBeGreaterThan(10);
    for (const { name, doc } of documents) {
      // A Deny to everyone (e.g. the trail bucket's non-TLS deny) grants nothing.
      for (const st of (doc.Statement ?? []).filter((x: any) => x.Effect === 'Allow')) {
        const principals = st.Principal === undefined ? [] : st.Principal === '*' ? ['*'] : [st.Principal.AWS ?? []].flat();
        expect({ name, wildcard: principals.filter((p: string) => p === '*') }).toEqual({ name, wildcard: [] });
        expect({ name, org: JSON.stringify(st.Condition ?? {}).includes('aws:PrincipalOrgID') }).toEqual({ name, org: false });
      }
    }
  });

  test('CloudTrail: multi-Region with log-file validation into a private, TLS-only, encrypted bucket', () => {
    const trail = one('aws:cloudtrail/trail:Trail');
    expect(trail.inputs).toMatchObject({ isMultiRegionTrail: true, enableLogFileValidation: true, includeGlobalServiceEvents: true });
    expect(trail.inputs.kmsKeyId).toMatch(/^arn:aws:kms:/);
    expect(one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const policy = JSON.parse(one('aws:s3/bucketPolicy:BucketPolicy').inputs.policy);
    const deny = policy.Statement.find((s: any) => s.Effect === 'Deny');
    expect(deny.Condition.Bool['aws:SecureTransport']).toBe('false');
  });

  test('the spoke registrar role trusts the registered deploy roles only, with the external id and a session tag of their own account', () => {
    const role = one('aws:iam/role:Role', 'hub-registrar-role');
    expect(role.inputs.name).toBe('ai-gateway-spoke-registrar');
    const trust = JSON.parse(role.inputs.assumeRolePolicy).Statement;
    const roles = config.spokes.map((s: any) => s.deployRoleArn);
    expect(trust.find((s: any) => s.Action === 'sts:AssumeRole')).toEqual(
      expect.objectContaining({
        Principal: { AWS: roles },
        Condition: { StringEquals: { 'sts:ExternalId': config.sharing.registrarExternalId, 'aws:RequestTag/ai-gateway:spoke-account': '${aws:PrincipalAccount}' } },
      }),
    );
    expect(trust.find((s: any) => s.Action === 'sts:TagSession').Principal).toEqual({ AWS: roles });
    expect(hub.outputs.spokeRegistrarExternalId).toBe(config.sharing.registrarExternalId);
    const policy = JSON.parse(one('aws:iam/rolePolicy:RolePolicy', 'hub-registrar-policy').inputs.policy);
    const alarms = policy.Statement.find((s: any) => s.Sid === 'SpokeAlarms');
    expect(alarms.Resource).toBe('arn:aws:cloudwatch:us-east-1:111111111111:alarm:ai-gateway-spoke-*');
    const records = policy.Statement.find((s: any) => s.Sid === 'SpokeRecordsOnly');
    expect(records.Resource).toBe('arn:aws:route53:::hostedzone/Z0PRIVATEZONE');
    expect(records.Condition['ForAllValues:StringLike']['route53:ChangeResourceRecordSetsNormalizedRecordNames']).toEqual(['*.spokes.gateway.internal']);
  });
});

describe('monitoring and outputs', () => {
  test('alarms on Lambda errors and throttles, API 5xx and unhealthy spokes per provider hub; one dashboard', () => {
    const alarms = ofType(hub, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => `${a.inputs.namespace}/${a.inputs.metricName}`);
    for (const metric of ['AWS/Lambda/Errors', 'AWS/Lambda/Throttles', 'AWS/ApiGateway/5XXError']) expect(alarms).toContain(metric);
    expect(alarms.filter((a) => a === 'AWS/NetworkELB/UnHealthyHostCount')).toHaveLength(config.providerHubs.length);
    const dashboard = JSON.parse(one('aws:cloudwatch/dashboard:Dashboard').inputs.dashboardBody);
    expect(dashboard.widgets.length).toBeGreaterThanOrEqual(4);
  });

  test('the outputs spokes read are all present', () => {
    for (const key of [
      'gatewayUrl',
      'usagePlanIds',
      'apiKeyIds',
      'transitGatewayId',
      'transitGatewayRouteTableId',
      'transitGatewayHubRouteTableId',
      'ramShareArn',
      'privateZoneId',
      'hubNlbTargetGroupArns',
      'hubNlbArns',
      'hubAccountId',
      'hubVpcCidr',
      'thirdPartySecretArns',
      'kmsKeyArn',
      'alarmTopicArn',
      'observabilitySinkArn',
    ]) {
      expect(hub.outputs[key]).toBeDefined();
    }
    expect(hub.outputs.hubAccountId).toBe(config.account.id);
    expect(hub.outputs.hubVpcCidr).toBe(config.network.cidr);
    expect(hub.outputs.ramExternalAccountIds).toEqual(config.sharing.externalAccountIds);
  });
});

describe('shared state (ElastiCache for Valkey) for the Lambda proxy', () => {
  const cache = () => one('aws:elasticache/replicationGroup:ReplicationGroup');
  const lambdaSg = () => {
    const fn = one('aws:lambda/function:Function');
    return ofType(hub, 'aws:ec2/securityGroup:SecurityGroup').find((s) => fn.inputs.vpcConfig.securityGroupIds.includes(`${s.name}-id`)) as RecordedResource;
  };
  const stateSecret = () => one('aws:secretsmanager/secret:Secret', 'hub-state-auth-token');

  test('one shard, Multi-AZ with automatic failover, its nodes spread over the private subnets', () => {
    expect(cache().inputs).toMatchObject({
      engine: 'valkey',
      clusterMode: 'disabled',
      port: 6379,
      numCacheClusters: 2,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      nodeType: 'cache.t4g.small',
    });
    expect(new Set(cache().inputs.preferredCacheClusterAzs).size).toBe(2);
    const subnetGroup = one('aws:elasticache/subnetGroup:SubnetGroup');
    expect(cache().inputs.subnetGroupName).toBe(subnetGroup.inputs.name);
    const privateSubnets = ofType(hub, 'aws:ec2/subnet:Subnet').filter((s) => s.name.includes('private'));
    expect([...subnetGroup.inputs.subnetIds].sort()).toEqual(privateSubnets.map((s) => `${s.name}-id`).sort());
  });

  test('TLS required, encrypted at rest with the hub key, AUTH token generated into Secrets Manager and nowhere else', () => {
    const kmsArn = `arn:aws:kms:us-east-1:${config.account.id}:key/${one('aws:kms/key:Key').name}`;
    expect(cache().inputs).toMatchObject({ transitEncryptionEnabled: true, transitEncryptionMode: 'required', atRestEncryptionEnabled: true, kmsKeyId: kmsArn });
    const token = fakeSecretValue(one('random:index/randomPassword:RandomPassword').name);
    expect(isSecretInput(cache().inputs.authToken) && plain(cache().inputs.authToken)).toBe(token);
    expect(stateSecret().inputs).toMatchObject({ name: 'ai-gateway/hub/state-auth-token', kmsKeyId: kmsArn, recoveryWindowInDays: 0 });
    const version = one('aws:secretsmanager/secretVersion:SecretVersion', 'hub-state-auth-token');
    expect(version.inputs.secretId).toBe(`${stateSecret().name}-id`);
    expect(isSecretInput(version.inputs.secretString) && plain(version.inputs.secretString)).toBe(token);
    const elsewhere = hub.resources.filter((r) => r !== cache() && r !== version && JSON.stringify(r.inputs).includes(token));
    expect(elsewhere.map((r) => r.name)).toEqual([]);
    expect(JSON.stringify(hub.outputs)).not.toContain(token);
  });

  test('port 6379 admits the Lambda security group only, which may reach the private subnets on it', () => {
    const groups = ofType(hub, 'aws:ec2/securityGroup:SecurityGroup').filter((g) => cache().inputs.securityGroupIds.includes(`${g.name}-id`));
    expect(groups).toHaveLength(1);
    expect(groups[0].inputs.ingress).toEqual([expect.objectContaining({ protocol: 'tcp', fromPort: 6379, toPort: 6379, securityGroups: [`${lambdaSg().name}-id`] })]);
    expect(groups[0].inputs.ingress[0].cidrBlocks).toBeUndefined();
    expect(groups[0].inputs.egress).toEqual([]);
    for (const other of ofType(hub, 'aws:ec2/securityGroup:SecurityGroup').filter((g) => g !== groups[0])) {
      for (const rule of other.inputs.ingress ?? []) expect(rule.fromPort <= 6379 && rule.toPort >= 6379).toBe(false);
    }
    const privateCidrs = ofType(hub, 'aws:ec2/subnet:Subnet')
      .filter((s) => s.name.includes('private'))
      .map((s) => s.inputs.cidrBlock);
    expect(lambdaSg().inputs.egress).toContainEqual(expect.objectContaining({ fromPort: 6379, toPort: 6379, cidrBlocks: privateCidrs }));
  });

  test('the proxy config names it as state.redis; the Lambda reads the token from Secrets Manager itself', () => {
    const url = `rediss://master.${cache().inputs.replicationGroupId}.abc123.use1.cache.amazonaws.com:6379`;
    const variables = one('aws:lambda/function:Function').inputs.environment.variables;
    expect(configSchema.parse(JSON.parse(variables.GATEWAY_CONFIG_JSON)).state).toEqual({ redis: url });
    expect(hub.outputs.stateRedisUrl).toBe(url);
    const secretArn = `arn:aws:secretsmanager:us-east-1:${config.account.id}:secret:ai-gateway/hub/state-auth-token-AbCdEf`;
    expect(variables.GATEWAY_REDIS_AUTH_SECRET_ARN).toBe(secretArn);
    const policy = JSON.parse(one('aws:iam/rolePolicy:RolePolicy', 'hub-proxy-logs-kms').inputs.policy);
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: secretArn }));
  });
});

describe('runtime config in SSM Parameter Store', () => {
  const parameter = () => one('aws:ssm/parameter:Parameter');
  const parameterArn = `arn:aws:ssm:us-east-1:${config.account.id}:parameter/ai-gateway/hub/runtime-config`;

  test('a SecureString under the hub key holding the validated proxy config; the Lambda gets its name and a bootstrap copy', () => {
    const kmsArn = `arn:aws:kms:us-east-1:${config.account.id}:key/${one('aws:kms/key:Key').name}`;
    expect(parameter().inputs).toMatchObject({ name: '/ai-gateway/hub/runtime-config', type: 'SecureString', keyId: kmsArn, tier: 'Standard' });
    const value = plain<string>(parameter().inputs.value);
    const parsed = configSchema.parse(JSON.parse(value));
    expect(parsed.models.map((m) => m.name)).toEqual(config.models.map((m: { name: string }) => m.name));
    const variables = one('aws:lambda/function:Function').inputs.environment.variables;
    expect(variables.GATEWAY_CONFIG_SSM_PARAMETER).toBe('/ai-gateway/hub/runtime-config');
    expect(variables.GATEWAY_CONFIG_JSON).toBe(value);
    expect(Number(variables.GATEWAY_CONFIG_POLL_SECONDS)).toBeGreaterThan(0);
    expect(hub.outputs.proxyConfigParameterName).toBe('/ai-gateway/hub/runtime-config');
    const envBytes = Object.entries(variables).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(String(v)), 0);
    expect(envBytes).toBeLessThanOrEqual(4096);
  });

  test('IAM: the Lambda role may read exactly that parameter, and decrypt it only through SSM for that parameter', () => {
    const statements = JSON.parse(one('aws:iam/rolePolicy:RolePolicy', 'hub-proxy-logs-kms').inputs.policy).Statement;
    const ssm = statements.filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('ssm:')));
    expect(ssm).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn })]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Condition: { StringEquals: { 'kms:ViaService': 'ssm.us-east-1.amazonaws.com', 'kms:EncryptionContext:PARAMETER_ARN': parameterArn } },
      }),
    );
  });

  test('SSM and Secrets Manager are reachable inside the hub VPC (interface endpoints), NAT or not', () => {
    const endpoints = ofType(hub, 'aws:ec2/vpcEndpoint:VpcEndpoint');
    expect(endpoints.map((e) => e.inputs.serviceName).sort()).toEqual(['com.amazonaws.us-east-1.secretsmanager', 'com.amazonaws.us-east-1.ssm']);
    endpoints.forEach((e) => expect(e.inputs).toMatchObject({ vpcEndpointType: 'Interface', privateDnsEnabled: true }));
  });
});

describe('runtime metrics: dashboard and alarms', () => {
  const METRICS = ['Requests', 'Errors', 'Attempts', 'Failovers', 'Hedges', 'LatencyMs', 'TtftMs', 'InputTokens', 'OutputTokens'];
  const dashboard = () => JSON.parse(one('aws:cloudwatch/dashboard:Dashboard').inputs.dashboardBody);
  const expressions = () =>
    dashboard().widgets.flatMap((w: any) =>
      w.properties.metrics
        .flat()
        .filter((m: any) => m && typeof m === 'object' && m.expression)
        .map((m: any) => m.expression),
    );

  test('the Lambda names the namespace and service its embedded metrics use', () => {
    const variables = one('aws:lambda/function:Function').inputs.environment.variables;
    expect(variables).toMatchObject({ GATEWAY_METRICS_NAMESPACE: 'AIGateway', GATEWAY_METRICS_SERVICE: 'ai-gateway-hub' });
  });

  test('the dashboard shows every runtime metric per service (the proxy and each spoke, by SEARCH over AIGateway/Service)', () => {
    const searches: string[] = expressions().filter((e: string) => e.startsWith('SEARCH('));
    for (const metric of METRICS) {
      expect(searches.some((e) => e.includes(`{AIGateway,Service} MetricName="${metric}"`))).toBe(true);
    }
    expect(searches.find((e) => e.includes('"LatencyMs"'))).toMatch(/'p99', 60\)$/);
    expect(searches.find((e) => e.includes('"TtftMs"'))).toMatch(/'p99', 60\)$/);
  });

  test('the dashboard shows the proxy error and failover rates with the alarms expressions, and its p99 latency and TTFT', () => {
    const rows = dashboard()
      .widgets.flatMap((w: any) => w.properties.metrics)
      .filter((m: any) => Array.isArray(m) && m[0] === 'AIGateway');
    const proxyRows = rows.filter((m: any[]) => m[2] === 'Service' && m[3] === 'ai-gateway-hub').map((m: any[]) => `${m[1]}:${m[4].stat}`);
    expect(proxyRows).toEqual(expect.arrayContaining(['Requests:Sum', 'Errors:Sum', 'Failovers:Sum', 'LatencyMs:p99', 'TtftMs:p99']));
    const alarmExpressions = ofType(hub, 'aws:cloudwatch/metricAlarm:MetricAlarm')
      .filter((a) => a.inputs.name?.startsWith('ai-gateway-hub-'))
      .flatMap((a) => a.inputs.metricQueries.filter((q: any) => q.expression).map((q: any) => q.expression));
    expect(alarmExpressions).toHaveLength(2);
    for (const expression of alarmExpressions) expect(expressions()).toContain(expression);
  });

  test('alarms on the proxy error rate, failover rate, p99 latency and p99 TTFT, to the alarm topic', () => {
    const alarms = ofType(hub, 'aws:cloudwatch/metricAlarm:MetricAlarm').filter((a) => a.inputs.metricQueries);
    expect(alarms.map((a) => a.inputs.name).sort()).toEqual(['ai-gateway-hub-error-rate', 'ai-gateway-hub-failover-rate', 'ai-gateway-hub-latency-p99', 'ai-gateway-hub-ttft-p99']);
    const topic = `arn:aws:sns:us-east-1:${config.account.id}:${one('aws:sns/topic:Topic').name}`;
    for (const alarm of alarms) {
      expect(alarm.inputs.alarmActions).toEqual([topic]);
      for (const q of alarm.inputs.metricQueries.filter((m: any) => m.metric)) {
        expect(q.metric).toMatchObject({ namespace: 'AIGateway', dimensions: { Service: 'ai-gateway-hub' } });
        expect(METRICS).toContain(q.metric.metricName);
        expect(q.accountId).toBeUndefined();
      }
    }
    const byName = (n: string) => alarms.find((a) => a.inputs.name === `ai-gateway-hub-${n}`) as RecordedResource;
    const metricsOf = (a: RecordedResource) => a.inputs.metricQueries.filter((q: any) => q.metric).map((q: any) => `${q.metric.metricName}:${q.metric.stat}`);
    expect(metricsOf(byName('error-rate'))).toEqual(['Requests:Sum', 'Errors:Sum']);
    expect(metricsOf(byName('failover-rate'))).toEqual(['Requests:Sum', 'Failovers:Sum']);
    expect(metricsOf(byName('latency-p99'))).toEqual(['LatencyMs:p99']);
    expect(metricsOf(byName('ttft-p99'))).toEqual(['TtftMs:p99']);
    expect(byName('error-rate').inputs.threshold).toBe(5);
    expect(byName('latency-p99').inputs.threshold).toBe(60_000);
  });

  test('an observability sink that the registered spoke accounts may link metrics to, nothing else', () => {
    const sink = one('aws:oam/sink:Sink');
    const policy = JSON.parse(one('aws:oam/sinkPolicy:SinkPolicy').inputs.policy);
    expect(one('aws:oam/sinkPolicy:SinkPolicy').inputs.sinkIdentifier).toBe(hub.outputs.observabilitySinkArn);
    expect(hub.outputs.observabilitySinkArn).toMatch(/^arn:aws:oam:us-east-1:111111111111:sink\//);
    expect(sink.provider).toBe('hub-account');
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Principal: { AWS: config.spokes.map((s: any) => `arn:aws:iam::${s.accountId}:root`) },
        Action: ['oam:CreateLink', 'oam:UpdateLink'],
        Condition: { 'ForAllValues:StringEquals': { 'oam:ResourceTypes': ['AWS::CloudWatch::Metric'] } },
      }),
    ]);
  });
});

describe('updates that AWS can carry out (fixed names and addresses)', () => {
  test("reordering providerHubs leaves every kind's NLB on its addresses (no NLB replaced, no spoke registration dropped)", async () => {
    const file = readStackConfigFile('hub');
    const reordered = await runStack('hub', { config: { ...file, 'ai-gateway:providerHubs': JSON.stringify([...config.providerHubs].reverse()) }, apiKeys: fakeApiKeys() });
    expect(reordered.outputs.hubNlbIps).toEqual(hub.outputs.hubNlbIps);
    const mappings = (run: StackRun) => Object.fromEntries(ofType(run, 'aws:lb/loadBalancer:LoadBalancer').map((n) => [n.name, n.inputs.subnetMappings]));
    expect(mappings(reordered)).toEqual(mappings(hub));
  });

  test('the fixed NLB addresses sit in an explicit subnet CIDR reservation of each private subnet', () => {
    const reservations = ofType(hub, 'aws:ec2/subnetCidrReservation:SubnetCidrReservation');
    const subnets = ofType(hub, 'aws:ec2/subnet:Subnet').filter((s) => s.name.includes('private'));
    expect(reservations.length).toBeGreaterThanOrEqual(subnets.length);
    reservations.forEach((r) => expect(r.inputs.reservationType).toBe('explicit'));
    for (const nlb of ofType(hub, 'aws:lb/loadBalancer:LoadBalancer')) {
      for (const mapping of nlb.inputs.subnetMappings) {
        const mine = reservations.filter((r) => r.inputs.subnetId === mapping.subnetId);
        expect(mine.some((r) => cidrContainsIp(r.inputs.cidrBlock, mapping.privateIpv4Address))).toBe(true);
      }
    }
  });

  test('what holds a fixed name or address is deleted before its replacement is created', () => {
    const deletedFirst = (type: string) => ofType(hub, type).map((r) => ({ name: r.name, deleteBeforeReplace: r.deleteBeforeReplace }));
    for (const type of [
      'aws:lb/loadBalancer:LoadBalancer',
      'aws:ecr/repository:Repository',
      'aws:ssm/parameter:Parameter',
      'aws:elasticache/replicationGroup:ReplicationGroup',
      'aws:oam/sink:Sink',
      'aws:route53/record:Record',
    ]) {
      const found = deletedFirst(type);
      expect(found.length).toBeGreaterThan(0);
      expect(found.filter((r) => !r.deleteBeforeReplace)).toEqual([]);
    }
  });
});

describe('runtime image: built by CI by default, by the hub stack on request (imageBuild)', () => {
  test('without imageBuild nothing is built and spokes keep naming service.image', () => {
    expect(ofType(hub, 'docker-build:index:Image')).toEqual([]);
    expect(hub.outputs.runtimeImageRef).toBeUndefined();
  });

  test("with imageBuild the runtime image is built from runtime/Dockerfile for the spokes' platform and pushed to the hub repository", async () => {
    const file = readStackConfigFile('hub');
    const run = await runStack('hub', { config: { ...file, 'ai-gateway:imageBuild': JSON.stringify({ tag: '0.2.0' }) }, apiKeys: fakeApiKeys() });
    const images = ofType(run, 'docker-build:index:Image');
    expect(images).toHaveLength(1);
    const repo = run.outputs.ecrRepositoryUrl as string;
    expect(images[0].inputs).toMatchObject({
      push: true,
      tags: [`${repo}:0.2.0`],
      platforms: ['linux/arm64'],
      context: { location: REPO },
      dockerfile: { location: path.join(REPO, 'runtime', 'Dockerfile') },
    });
    expect(existsSync(images[0].inputs.dockerfile.location)).toBe(true);
    // It logs in with the hub account's ECR token, kept secret.
    expect(isSecretInput(images[0].inputs.registries)).toBe(true);
    const [registry] = plain(images[0].inputs.registries);
    expect(registry).toEqual({ address: repo, username: 'AWS', password: 'FAKEECRPASSWORD' });
    expect(run.calls).toContainEqual({ token: 'aws:ecr/getAuthorizationToken:getAuthorizationToken', provider: 'hub-account' });
    expect(run.outputs.runtimeImageRef).toBe(`${repo}@sha256:${'ab'.repeat(32)}`);
  });

  test('an imageBuild tag of latest is refused, naming the key', async () => {
    const file = readStackConfigFile('hub');
    await expect(runStack('hub', { config: { ...file, 'ai-gateway:imageBuild': JSON.stringify({ tag: 'latest' }) }, apiKeys: fakeApiKeys() })).rejects.toThrow(
      /ai-gateway:imageBuild\.tag: pin a version tag, not latest/,
    );
  });
});
