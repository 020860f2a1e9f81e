/**
 * Every Pulumi.spoke-*.yaml on disk, run through the real program under mocks against the
 * hub stack's real (mocked) outputs, and a third spoke added by one new file alone.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fakeApiKeys, ofType, plain, readStackConfigFile, REPO, runStack, spokeStacksOnDisk, type StackRun } from './pulumi-harness';
import { spokeChecks, spokeConfig, taskContainer } from './spoke-checks';

/* eslint-disable @typescript-eslint/no-explicit-any -- stack outputs are JSON */

/** spoke-c's `ai-gateway:hub`, as SPOKE_C writes it. */
const SPOKE_C_HUB = {
  stack: 'acme/ai-gateway/hub',
  accountId: '111111111111',
  region: 'us-east-1',
  roleArn: 'arn:aws:iam::111111111111:role/ai-gateway-spoke-registrar',
  cidr: '10.0.0.0/16',
  onPremCidr: '192.168.0.0/16',
};

let hub: Record<string, any>;
const runs = new Map<string, StackRun>();
const stacks = spokeStacksOnDisk();

beforeAll(async () => {
  hub = (await runStack('hub', { apiKeys: fakeApiKeys() })).outputs;
  for (const stack of stacks) runs.set(stack, await runStack(stack, { hubOutputs: hub }));
});

describe.each(stacks)('%s', (stack) => {
  test.each(Object.keys(spokeChecks))('%s', (check) => {
    spokeChecks[check](runs.get(stack) as StackRun, spokeConfig(stack), hub);
  });
});

describe('spoke-specific details', () => {
  test('spoke-a (Bedrock): profile in each calling Region, model in each Region the profile routes to (a global one: Region-less)', () => {
    const run = runs.get('spoke-a') as StackRun;
    const task = ofType(run, 'aws:iam/rolePolicy:RolePolicy').find((p) => p.name === 'spoke-a-gateway-task');
    const resources: string[] = JSON.parse(task?.inputs.policy).Statement[0].Resource;
    expect(resources).toEqual([
      'arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-east-1:222222222222:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-east-1:222222222222:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0',
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0',
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0',
      'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0',
      'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0',
      'arn:aws:bedrock:us-west-2:222222222222:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-west-2:222222222222:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0',
      'arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0',
      'arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0',
      'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0',
      'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
    ]);
    const endpoints = ofType(run, 'aws:ec2/vpcEndpoint:VpcEndpoint').map((e) => e.inputs.serviceName);
    expect(endpoints).toContain('com.amazonaws.us-east-1.bedrock-runtime');
  });

  test('spoke-b (third-party): API keys come from the hub secrets at task start, never as values', () => {
    const run = runs.get('spoke-b') as StackRun;
    const container = taskContainer(run);
    const stateToken = 'arn:aws:secretsmanager:us-east-1:333333333333:secret:ai-gateway/spoke-b/state-auth-token-AbCdEf';
    const config = 'arn:aws:ssm:us-east-1:333333333333:parameter/ai-gateway/spoke-b/runtime-config';
    expect(container.secrets).toEqual([
      { name: 'GATEWAY_CONFIG_JSON', valueFrom: config },
      { name: 'GATEWAY_REDIS_AUTH_TOKEN', valueFrom: stateToken },
      { name: 'OPENAI_MAIN_API_KEY', valueFrom: hub.thirdPartySecretArns.openai },
      { name: 'ANTHROPIC_MAIN_API_KEY', valueFrom: hub.thirdPartySecretArns.anthropic },
    ]);
    const runtime = JSON.parse(plain(ofType(run, 'aws:ssm/parameter:Parameter')[0].inputs.value));
    expect(runtime.providers.map((p: any) => p.accounts[0].credentials)).toEqual([{ env: 'OPENAI_MAIN_API_KEY' }, { env: 'ANTHROPIC_MAIN_API_KEY' }]);
    const execution = JSON.parse(ofType(run, 'aws:iam/rolePolicy:RolePolicy').find((p) => p.name === 'spoke-b-gateway-execution')?.inputs.policy);
    const read = execution.Statement.find((s: any) => s.Action === 'secretsmanager:GetSecretValue');
    expect([...read.Resource].sort()).toEqual([hub.thirdPartySecretArns.anthropic, hub.thirdPartySecretArns.openai, stateToken].sort());
  });

  test('no plain-text secret in any stack file or task environment', () => {
    const keyLike = /(^sk-[A-Za-z0-9_-]{8,}|^AKIA[0-9A-Z]{16}$|-----BEGIN)/;
    const secretName = /(api[-_]?key|password|token)$/i;
    const offending: string[] = [];
    const walk = (value: unknown, at: string): void => {
      if (value && typeof value === 'object') {
        // `{ secure: ... }` is how Pulumi stores a value set with --secret.
        if (!('secure' in value)) Object.entries(value).forEach(([k, v]) => walk(v, `${at}.${k}`));
      } else if (typeof value === 'string' && (keyLike.test(value) || secretName.test(at))) {
        offending.push(at);
      }
    };
    for (const stack of ['hub', ...stacks]) {
      for (const [key, text] of Object.entries(readStackConfigFile(stack))) walk(parseMaybe(text), `${stack}:${key}`);
    }
    for (const run of runs.values()) {
      for (const { name, value } of taskContainer(run).environment) walk(value, `${run.stack}:env.${name}`);
      walk(JSON.parse(plain(ofType(run, 'aws:ssm/parameter:Parameter')[0].inputs.value)), `${run.stack}:runtime-config`);
    }
    expect(offending).toEqual([]);
  });
});

function parseMaybe(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

test('a spoke in an account the hub invites (outside its organization) that does not accept the share fails naming hub.acceptRamShare', async () => {
  expect(hub.ramExternalAccountIds).toEqual(['333333333333']);
  const config = readStackConfigFile('spoke-b');
  config['ai-gateway:hub'] = JSON.stringify({ ...JSON.parse(config['ai-gateway:hub']), acceptRamShare: false });
  await expect(runStack('spoke-b', { config, hubOutputs: hub })).rejects.toThrow(
    /ai-gateway:hub\.acceptRamShare: must be true: the hub shares its Transit Gateway with 333333333333 as an external account/,
  );
});

test("a vendor key the hub does not hold fails naming the vendor's secret key, before anything is declared", async () => {
  const config = readStackConfigFile('spoke-b');
  const provider = JSON.parse(config['ai-gateway:provider']);
  provider.vendors[1].secret = 'mistral';
  config['ai-gateway:provider'] = JSON.stringify(provider);
  await expect(runStack('spoke-b', { config, hubOutputs: hub })).rejects.toThrow(
    /ai-gateway:provider\.vendors\[1\]\.secret: "mistral" is not a secret of the hub \(its thirdParty: (openai, anthropic|anthropic, openai)\)/,
  );
});

describe("a spoke's prices against the hub's price bounds", () => {
  test('the hub exports the bound of each priced model, with the key that sets it', () => {
    expect(hub.modelPriceBounds).toEqual([
      { name: 'chat', providers: ['bedrock', 'third-party'], price: { inputPerMTok: 0.8, outputPerMTok: 4, cacheWritePerMTok: 1 }, key: 'ai-gateway:models[0].price' },
      { name: 'reasoning', providers: ['bedrock', 'third-party'], price: { inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75 }, key: 'ai-gateway:models[1].price' },
    ]);
  });

  /** spoke-b's stack file with one price of gpt-4o-mini (a target of `chat`) changed. */
  function spokeBPricing(price: Record<string, number>): Record<string, string> {
    const config = readStackConfigFile('spoke-b');
    const provider = JSON.parse(config['ai-gateway:provider']);
    const mini = provider.vendors[0].models.find((m: any) => m.id === 'gpt-4o-mini');
    mini.price = { ...mini.price, ...price };
    config['ai-gateway:provider'] = JSON.stringify(provider);
    return config;
  }

  test.each([
    [
      'an output price above the bound',
      { outputPerMTok: 4.5 },
      /ai-gateway:provider\.vendors\[0\]\.models\[1\]\.price\.outputPerMTok: 4\.5 USD per million tokens \("gpt-4o-mini", a target of model "chat"\) is above the hub's bound, 4 \(ai-gateway:models\[0\]\.price\.outputPerMTok in the hub stack\)/,
    ],
    [
      "a cache-write price above the dearer of the bound's input and cache-write prices",
      { cacheWritePerMTok: 1.25 },
      /ai-gateway:provider\.vendors\[0\]\.models\[1\]\.price\.cacheWritePerMTok: 1\.25 USD .* is above the hub's bound for prompt tokens, 1 \(ai-gateway:models\[0\]\.price in the hub stack/,
    ],
  ])('%s fails the deployment with both keys named', async (_what, price, message) => {
    await expect(runStack('spoke-b', { config: spokeBPricing(price), hubOutputs: hub })).rejects.toThrow(message);
  });

  test('a price at the bound deploys, and so does any price against a hub that exports no bounds (deployed before them)', async () => {
    await expect(runStack('spoke-b', { config: spokeBPricing({ inputPerMTok: 1, outputPerMTok: 4 }), hubOutputs: hub })).resolves.toBeDefined();
    const { modelPriceBounds: _bounds, ...olderHub } = hub;
    await expect(runStack('spoke-b', { config: spokeBPricing({ outputPerMTok: 40 }), hubOutputs: olderHub })).resolves.toBeDefined();
  });
});

describe('adding a spoke: one new stack file and its entry in the hub registry', () => {
  let dir: string;
  let hubWithC: Record<string, any>;
  beforeAll(async () => {
    // A copy of the stack files plus a new one: the program code is the repository's, untouched.
    dir = mkdtempSync(path.join(tmpdir(), 'ai-gateway-stacks-'));
    for (const file of readdirSync(REPO).filter((f) => /^Pulumi\..*\.yaml$/.test(f))) copyFileSync(path.join(REPO, file), path.join(dir, file));
    writeFileSync(path.join(dir, 'Pulumi.spoke-c.yaml'), SPOKE_C);
    // The hub learns the spoke first (pulumi up -s hub): its deploy role, CIDR and port.
    const hubConfig = readStackConfigFile('hub', dir);
    hubConfig['ai-gateway:spokes'] = JSON.stringify([...JSON.parse(hubConfig['ai-gateway:spokes']), SPOKE_C_ENTRY]);
    hubWithC = (await runStack('hub', { config: hubConfig, apiKeys: fakeApiKeys(hubConfig) })).outputs;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a spoke the hub does not list fails before it registers, naming what to add to the hub', async () => {
    await expect(runStack('spoke-c', { config: readStackConfigFile('spoke-c', dir), hubOutputs: hub })).rejects.toThrow(
      /ai-gateway:registration: the hub has no entry for stack "spoke-c" in ai-gateway:spokes; add \{ stack: spoke-c, accountId: "444444444444", .* cidr: 10\.66\.0\.0\/20, hubPort: 8103 \}/,
    );
  });

  test('spoke-c (on-prem) is found, declared and registered in the hub with no code change', async () => {
    expect(spokeStacksOnDisk(dir)).toEqual([...stacks, 'spoke-c'].sort());
    const run = await runStack('spoke-c', { config: readStackConfigFile('spoke-c', dir), hubOutputs: hubWithC });
    const cfg = spokeConfig('spoke-c', dir);
    for (const check of Object.values(spokeChecks)) check(run, cfg, hubWithC);
    // On-prem specifics: the route over the VPN and a task egress rule to the model server only.
    const taskSg = ofType(run, 'aws:ec2/securityGroup:SecurityGroup').find((g) => g.name === 'spoke-c-gateway-task');
    expect(taskSg?.inputs.egress).toContainEqual(expect.objectContaining({ protocol: 'tcp', fromPort: 8000, toPort: 8000, cidrBlocks: ['192.168.0.0/16'] }));
    const record = ofType(run, 'aws:route53/record:Record')[0];
    expect(record.inputs.name).toBe('on-prem.spokes.gateway.internal');
    expect(record.provider).toBe('hub-account');
  });

  test.each([
    ['a CIDR outside the hub pool', { network: { cidr: '10.200.0.0/20', azCount: 2 } }, /ai-gateway:network\.cidr: 10\.200\.0\.0\/20 is outside the hub's spokeCidrPool 10\.64\.0\.0\/10/],
    [
      'a CIDR overlapping another spoke',
      { network: { cidr: '10.64.16.0/20', azCount: 2 } },
      /ai-gateway:network\.cidr: 10\.64\.16\.0\/20 overlaps spoke-a \(10\.64\.0\.0\/16, the hub's spokes\[0\]\)/,
    ],
    ['a hub port another spoke holds', { registration: { weight: 50, hubPort: 8101 } }, /ai-gateway:registration\.hubPort: 8101 is taken by spoke-a \(the hub's spokes\[0\]\)/],
    // A stale copy of the hub's addresses would deploy cleanly: routes and NLB ingress for a network the hub is not in.
    [
      "a hub VPC CIDR that is not the hub's",
      { hub: { ...SPOKE_C_HUB, cidr: '10.1.0.0/16' } },
      /ai-gateway:hub\.cidr: 10\.1\.0\.0\/16 differs from the hub's VPC CIDR, 10\.0\.0\.0\/16 \(hub output hubVpcCidr\)/,
    ],
    [
      "an on-prem CIDR that is not the hub's",
      { hub: { ...SPOKE_C_HUB, onPremCidr: '192.168.0.0/17' } },
      /ai-gateway:hub\.onPremCidr: 192\.168\.0\.0\/17 differs from the hub's on-prem network \(onPrem\.cidr\), 192\.168\.0\.0\/16/,
    ],
    [
      'accepting a RAM share the hub sends through its organization (no invitation exists)',
      { hub: { ...SPOKE_C_HUB, acceptRamShare: true } },
      /ai-gateway:hub\.acceptRamShare: must be false: 444444444444 is not in the hub's sharing\.externalAccountIds/,
    ],
    [
      "a registrar role that is not the hub's",
      { hub: { ...SPOKE_C_HUB, roleArn: 'arn:aws:iam::111111111111:role/registrar' } },
      /ai-gateway:hub\.roleArn: arn:aws:iam::111111111111:role\/registrar differs from the hub's registrar role/,
    ],
  ])('%s fails the deployment with the key named, before anything registers', async (_what, change, message) => {
    const config = readStackConfigFile('spoke-c', dir);
    for (const [key, value] of Object.entries(change)) config[`ai-gateway:${key}`] = JSON.stringify(value);
    await expect(runStack('spoke-c', { config, hubOutputs: hubWithC })).rejects.toThrow(message);
  });
});

const SPOKE_C_ENTRY = {
  stack: 'spoke-c',
  accountId: '444444444444',
  deployRoleArn: 'arn:aws:iam::444444444444:role/ai-gateway-deploy',
  kind: 'on-prem',
  cidr: '10.66.0.0/20',
  hubPort: 8103,
};

const SPOKE_C = `# Written by the test: a third spoke, on-prem models over the VPN.
config:
  aws:region: us-east-1
  ai-gateway:account:
    id: "444444444444"
    region: us-east-1
    deployRoleArn: arn:aws:iam::444444444444:role/ai-gateway-deploy
  ai-gateway:hub:
    stack: acme/ai-gateway/hub
    accountId: "111111111111"
    region: us-east-1
    roleArn: arn:aws:iam::111111111111:role/ai-gateway-spoke-registrar
    cidr: 10.0.0.0/16
    onPremCidr: 192.168.0.0/16
  ai-gateway:network:
    cidr: 10.66.0.0/20
    azCount: 2
  ai-gateway:provider:
    kind: on-prem
    url: http://192.168.10.20:8000/v1
    models:
      - id: meta-llama/Llama-3.1-70B-Instruct
        limits: { rpm: 120, tpm: 300000 }
        contextTokens: 131072
  ai-gateway:models:
    - name: local
      targets: [meta-llama/Llama-3.1-70B-Instruct]
  ai-gateway:registration:
    weight: 50
    hubPort: 8103
  ai-gateway:service:
    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/ai-gateway-runtime:0.1.0
    minTasks: 2
    maxTasks: 4
`;
