/**
 * The stack config reader: every committed stack file is valid, and each kind of mistake
 * fails before any resource is declared, with a message naming the key.
 */
import * as pulumi from '@pulumi/pulumi';
import { readdirSync } from 'node:fs';
import { parseStackConfig, StackConfigError, stackKind } from '../../infra/config';
import { cidrContains, cidrsOverlap } from '../../infra/lib/cidr';
import { fakeApiKeys, PROJECT, readStackConfigFile, REPO, runStack, spokeStacksOnDisk } from './pulumi-harness';

/* eslint-disable @typescript-eslint/no-explicit-any -- config documents are JSON */
type Values = Record<string, any>;

/** A stack file's `ai-gateway:*` values, keyed without the namespace. */
function values(stack: string): Values {
  const out: Values = {};
  for (const [key, text] of Object.entries(readStackConfigFile(stack))) {
    if (!key.startsWith(`${PROJECT}:`)) continue;
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // plain string value
    }
    out[key.slice(PROJECT.length + 1)] = value;
  }
  return out;
}

function failure(stack: string, doc: Values): string {
  try {
    parseStackConfig(stack, doc);
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('committed stack files', () => {
  test('there is a hub and at least two spokes', () => {
    expect(readdirSync(REPO)).toContain('Pulumi.hub.yaml');
    expect(spokeStacksOnDisk().length).toBeGreaterThanOrEqual(2);
  });

  test.each(['hub', ...spokeStacksOnDisk()])('%s parses and validates', (stack) => {
    const parsed = parseStackConfig(stack, values(stack));
    expect(parsed.kind).toBe(stackKind(stack));
  });

  test('spoke VPCs overlap neither the hub, on-prem nor each other', () => {
    const hub = values('hub');
    const spokes = spokeStacksOnDisk().map((s) => values(s).network.cidr as string);
    for (const [i, cidr] of spokes.entries()) {
      expect(cidrContains(hub.network.spokeCidrPool, cidr)).toBe(true);
      expect(cidrsOverlap(cidr, hub.network.cidr)).toBe(false);
      expect(cidrsOverlap(cidr, hub.onPrem.cidr)).toBe(false);
      spokes.slice(i + 1).forEach((other) => expect(cidrsOverlap(cidr, other)).toBe(false));
    }
  });

  test('spokes claim distinct hub NLB ports', () => {
    const ports = spokeStacksOnDisk().map((s) => values(s).registration.hubPort);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('invalid configs fail with the key path named', () => {
  test('a spoke VPC overlapping the hub VPC', () => {
    const doc = values('spoke-a');
    doc.network.cidr = '10.0.0.0/20';
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:network\.cidr: 10\.0\.0\.0\/20 overlaps the hub VPC 10\.0\.0\.0\/16/);
  });

  test('a spoke VPC overlapping the on-prem network', () => {
    const doc = values('spoke-b');
    doc.network.cidr = '192.168.64.0/18';
    expect(failure('spoke-b', doc)).toMatch(/ai-gateway:network\.cidr: 192\.168\.64\.0\/18 overlaps the on-prem network 192\.168\.0\.0\/16/);
  });

  test('a hub whose spoke pool overlaps its own VPC or the on-prem network', () => {
    const doc = values('hub');
    doc.network.spokeCidrPool = '10.0.0.0/8';
    const message = failure('hub', doc);
    expect(message).toMatch(/ai-gateway:network\.spokeCidrPool: 10\.0\.0\.0\/8 overlaps the hub VPC 10\.0\.0\.0\/16/);
    const onPrem = values('hub');
    onPrem.onPrem.cidr = '10.64.0.0/16';
    expect(failure('hub', onPrem)).toMatch(/ai-gateway:onPrem\.cidr: 10\.64\.0\.0\/16 overlaps network\.spokeCidrPool/);
  });

  test('a missing account id', () => {
    const doc = values('spoke-a');
    delete doc.account.id;
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:account\.id: missing: expected a 12-digit AWS account id/);
    const hub = values('hub');
    delete hub.account;
    expect(failure('hub', hub)).toMatch(/ai-gateway:account: missing/);
  });

  test('an account id that is not 12 digits (an unquoted YAML number loses leading zeros)', () => {
    const doc = values('spoke-a');
    doc.account.id = 22222222222;
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:account\.id: expected a 12-digit AWS account id/);
  });

  test('an unknown provider kind', () => {
    const doc = values('spoke-a');
    doc.provider.kind = 'azure-openai';
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:provider\.kind: unknown provider kind "azure-openai"; expected one of bedrock, third-party, on-prem/);
    const hub = values('hub');
    hub.providerHubs.push('gcp');
    expect(failure('hub', hub)).toMatch(/ai-gateway:providerHubs\[3\]: expected one of bedrock, third-party, on-prem/);
  });

  test('inference profiles: a global one lists no Regions, a geographic one must, and either routes to its own model', () => {
    const withProfile = (id: string, regions?: string[]) => {
      const doc = values('spoke-a');
      doc.provider.models[0].inferenceProfile = { id, ...(regions ? { regions } : {}) };
      return doc;
    };
    const model = 'anthropic.claude-3-5-sonnet-20241022-v2:0';
    expect(failure('spoke-a', withProfile(`global.${model}`, ['us-east-1']))).toMatch(
      /ai-gateway:provider\.models\[0\]\.inferenceProfile\.regions: a global profile routes to any commercial Region/,
    );
    expect(failure('spoke-a', withProfile(`eu.${model}`))).toMatch(/ai-gateway:provider\.models\[0\]\.inferenceProfile\.regions: required for a geographic profile/);
    expect(failure('spoke-a', withProfile('us.anthropic.claude-3-7-sonnet-20250219-v1:0', ['us-east-1']))).toMatch(
      /ai-gateway:provider\.models\[0\]\.inferenceProfile\.id: routes to anthropic\.claude-3-7-sonnet-20250219-v1:0, not to this model \(anthropic\.claude-3-5-sonnet-20241022-v2:0\)/,
    );
    // GovCloud's profiles have a longer prefix.
    const govCloud = withProfile(`us-gov.${model}`, ['us-gov-west-1']);
    govCloud.models[1].targets[1] = `us-gov.${model}`;
    expect(() => parseStackConfig('spoke-a', govCloud)).not.toThrow();
  });

  test('a malformed CIDR', () => {
    const doc = values('spoke-b');
    doc.network.cidr = '10.65.0.1/16';
    expect(failure('spoke-b', doc)).toMatch(/ai-gateway:network\.cidr: expected a CIDR like 10\.1\.0\.0\/16/);
  });

  test('a misspelt key, at the top and inside an object', () => {
    const doc = values('spoke-a');
    doc.netwrok = doc.network;
    doc.service.imagee = 'x';
    const message = failure('spoke-a', doc);
    expect(message).toMatch(/ai-gateway:netwrok: unknown config key \(known: account, hub, network/);
    expect(message).toMatch(/ai-gateway:service\.imagee: unknown key/);
  });

  test('a model target the provider does not offer', () => {
    const doc = values('spoke-b');
    doc.models[0].targets.push('gpt-5-turbo');
    expect(failure('spoke-b', doc)).toMatch(/ai-gateway:models\[0\]\.targets\[2\]: "gpt-5-turbo" is not a model of this spoke's provider/);
  });

  test('third-party spokes and remote Bedrock Regions need a NAT path', () => {
    const doc = values('spoke-b');
    doc.network.natGateway = false;
    expect(failure('spoke-b', doc)).toMatch(/ai-gateway:network\.natGateway: must be true: third-party APIs are on the internet/);
    const bedrock = values('spoke-a');
    bedrock.network.natGateway = false;
    expect(failure('spoke-a', bedrock)).toMatch(/ai-gateway:network\.natGateway: must be true: Bedrock in us-west-2/);
  });

  test('a spoke in another Region than the hub Transit Gateway', () => {
    const doc = values('spoke-a');
    doc.account.region = 'eu-west-1';
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:account\.region: must equal hub\.region us-east-1/);
  });

  test('an image pinned to :latest', () => {
    const doc = values('spoke-a');
    doc.service.image = '111111111111.dkr.ecr.us-east-1.amazonaws.com/ai-gateway-runtime:latest';
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:service\.image: pin a version tag or digest/);
  });

  test('a task CPU and memory pair Fargate does not offer (RegisterTaskDefinition would refuse it at deploy time)', () => {
    const doc = values('spoke-a');
    doc.service.cpu = 1024;
    doc.service.memoryMb = 1024;
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:service\.memoryMb: 1024 is not a Fargate task size with service\.cpu 1024: expected 2048 to 8192 in steps of 1024/);
    doc.service.cpu = 256;
    doc.service.memoryMb = 4096;
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:service\.memoryMb: 4096 is not a Fargate task size with service\.cpu 256: expected one of 512, 1024, 2048/);
    doc.service.memoryMb = 1500;
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:service\.memoryMb: 1500 is not a Fargate task size/);
    // Every valid pair passes, and so do the defaults.
    for (const [cpu, memoryMb] of [
      [256, 512],
      [512, 4096],
      [2048, 16384],
      [4096, 30720],
    ]) {
      doc.service.cpu = cpu;
      doc.service.memoryMb = memoryMb;
      expect(() => parseStackConfig('spoke-a', doc)).not.toThrow();
    }
    delete doc.service.cpu;
    delete doc.service.memoryMb;
    expect(parseStackConfig('spoke-a', doc).config).toMatchObject({ service: { cpu: 1024, memoryMb: 2048 } });
  });

  test('a tag AWS refuses (reserved aws: prefix, bad characters, too long, too many) fails here, not on every resource at create time', () => {
    const hub = values('hub');
    hub.tags = { 'aws:owner': 'platform', 'cost center!': 'x', team: 'v'.repeat(257) };
    const message = failure('hub', hub);
    expect(message).toMatch(/ai-gateway:tags\.aws:owner: .*tag keys starting with "aws:" are reserved for AWS/);
    expect(message).toMatch(/ai-gateway:tags\.cost center!: .*a tag key takes letters, digits, spaces and _\.:\/=\+-@ only/);
    expect(message).toMatch(/ai-gateway:tags\.team: a tag value has at most 256 characters/);
    const spoke = values('spoke-a');
    spoke.tags = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`t${i}`, 'x']));
    expect(failure('spoke-a', spoke)).toMatch(/ai-gateway:tags: at most 47 tags/);
    spoke.tags = { 'cost-center': 'platform-ai', 'owner:team': 'AI Platform @ acme', 'ai-gateway:tier': 'gold' };
    expect(parseStackConfig('spoke-a', spoke).config.tags).toEqual(spoke.tags);
  });

  test('a VPC CIDR too small for what AWS places in each private subnet (endpoints, TGW, cache, tasks) fails naming network.cidr', () => {
    const doc = values('spoke-a');
    // A /24 VPC has /28 subnets: 5 addresses AWS may assign once its own 5 and the NLB block are out; the 7 endpoints alone need 7.
    doc.network.cidr = '10.64.0.0/24';
    expect(failure('spoke-a', doc)).toMatch(
      /ai-gateway:network\.cidr: 10\.64\.0\.0\/24 leaves 5 assignable addresses in each private subnet .* this stack needs 21 there \(Transit Gateway attachment 1, interface endpoints 7, cache nodes 1, tasks \(2 x service\.maxTasks over the AZs\) 12\)/,
    );
    // A /23 (/27 subnets, 19 assignable) holds spoke-a with up to 8 tasks (a rollout runs 16 over 2 subnets), not its 12.
    doc.network.cidr = '10.64.0.0/23';
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:network\.cidr: 10\.64\.0\.0\/23 leaves 19 assignable addresses .* needs 21 there/);
    doc.service.maxTasks = 8;
    expect(() => parseStackConfig('spoke-a', doc)).not.toThrow();
    // The hub needs less per subnet (2 endpoints, one Lambda ENI): a /24 holds it with one replica, not with three over 2 AZs.
    const hub = values('hub');
    hub.network.cidr = '10.0.0.0/24';
    expect(() => parseStackConfig('hub', hub)).not.toThrow();
    hub.network.azCount = 2;
    hub.cache = { replicas: 3 };
    expect(failure('hub', hub)).toMatch(/ai-gateway:network\.cidr: 10\.0\.0\.0\/24 leaves 5 assignable addresses .* needs 6 there/);
  });

  test('a task CPU Fargate does not offer is named with the sizes it does', () => {
    const doc = values('spoke-a');
    doc.service.cpu = 300;
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:service\.cpu: expected a Fargate task CPU: 256, 512, 1024, 2048 or 4096/);
  });

  test('a shared-state cache without a replica (no Multi-AZ failover) or with a made-up node type', () => {
    const doc = values('spoke-a');
    doc.cache = { replicas: 0, nodeType: 'redis.large' };
    const message = failure('spoke-a', doc);
    expect(message).toMatch(/ai-gateway:cache\.replicas: at least 1: Multi-AZ automatic failover needs a replica/);
    expect(message).toMatch(/ai-gateway:cache\.nodeType: expected an ElastiCache node type like cache\.t4g\.small/);
    const hub = values('hub');
    hub.cache = { replicas: 6 };
    expect(failure('hub', hub)).toMatch(/ai-gateway:cache\.replicas:/);
  });

  test('cache and alarm thresholds default when absent, and a bad threshold names its key', () => {
    const parsed = parseStackConfig('spoke-a', values('spoke-a'));
    expect(parsed.config.cache).toEqual({ nodeType: 'cache.t4g.small', replicas: 1 });
    expect(parsed.config.alarms).toMatchObject({ errorRatePercent: 5, latencyP99Ms: 60_000 });
    const hub = parseStackConfig('hub', values('hub'));
    expect(hub.config.alarms).toMatchObject({ email: 'platform-oncall@example.com', errorRatePercent: 5, ttftP99Ms: 10_000 });
    const doc = values('hub');
    doc.alarms.errorRatePercent = 150;
    doc.alarms.latencyP99ms = 1000;
    const message = failure('hub', doc);
    expect(message).toMatch(/ai-gateway:alarms\.errorRatePercent:/);
    expect(message).toMatch(/ai-gateway:alarms\.latencyP99ms: unknown key/);
  });

  test('a stack name that is neither hub nor a short spoke-*', () => {
    expect(() => parseStackConfig('prod', values('hub'))).toThrow(/stack "prod" is neither "hub" nor "spoke-<name>"/);
    // Spoke names prefix NLB and target group names, which AWS caps at 32 characters.
    expect(() => parseStackConfig('spoke-eu-central-partner', values('spoke-a'))).toThrow(/up to 10 lowercase letters/);
  });
});

describe('capacity classes, prices, routing and prompt caching fail naming the stack key', () => {
  test('a price that is negative, incomplete or misspelt', () => {
    const doc = values('spoke-a');
    doc.provider.models[0].price.inputPerMTok = -1;
    doc.provider.models[1].price = { inputPerMTok: 0.8 };
    doc.provider.models[2].price.cachedInputPerMtok = 0.01;
    const message = failure('spoke-a', doc);
    expect(message).toMatch(/ai-gateway:provider\.models\[0\]\.price\.inputPerMTok: Too small: expected number to be >=0/);
    expect(message).toMatch(/ai-gateway:provider\.models\[1\]\.price\.outputPerMTok: missing/);
    expect(message).toMatch(/ai-gateway:provider\.models\[2\]\.price\.cachedInputPerMtok: unknown key/);
    const vendor = values('spoke-b');
    vendor.provider.vendors[1].models[0].price.cacheWritePerMTok = 'dear';
    expect(failure('spoke-b', vendor)).toMatch(/ai-gateway:provider\.vendors\[1\]\.models\[0\]\.price\.cacheWritePerMTok: Invalid input: expected number/);
    const hub = values('hub');
    hub.models[1].price = { outputPerMTok: 15 };
    expect(failure('hub', hub)).toMatch(/ai-gateway:models\[1\]\.price\.inputPerMTok: missing/);
  });

  test('routing: cost on a target without a price names the provider model to price', () => {
    const doc = values('spoke-a');
    delete doc.provider.models[2].price;
    expect(failure('spoke-a', doc)).toMatch(
      /ai-gateway:models\[0\]\.routing: cost needs a price on every target; none at ai-gateway:provider\.models\[2\]\.price \("amazon\.nova-lite-v1:0"\)/,
    );
    const vendor = values('spoke-b');
    vendor.models[1].routing = 'cost';
    delete vendor.provider.vendors[1].models[0].price;
    expect(failure('spoke-b', vendor)).toMatch(
      /ai-gateway:models\[1\]\.routing: cost needs a price on every target; none at ai-gateway:provider\.vendors\[1\]\.models\[0\]\.price \("claude-3-5-sonnet-latest"\)/,
    );
    vendor.models[1].routing = 'cheapest';
    expect(failure('spoke-b', vendor)).toMatch(/ai-gateway:models\[1\]\.routing: Invalid option: expected one of "ordered"\|"cost"/);
  });

  test('capacity shares out of range, a batch ceiling inside the critical reserve, a wait past a minute', () => {
    const doc = values('spoke-a');
    doc.capacity = { criticalReserve: 0.3, batchCeiling: 0.9, waitMs: 500 };
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:capacity\.batchCeiling: must be at most 1 - criticalReserve \(0\.7\): batch never takes the critical reserve/);
    doc.capacity = { criticalReserve: 1.5, waitMs: 120_000 };
    const message = failure('spoke-a', doc);
    expect(message).toMatch(/ai-gateway:capacity\.criticalReserve: Too big: expected number to be <=1/);
    expect(message).toMatch(/ai-gateway:capacity\.waitMs: Too big: expected number to be <=60000/);
  });

  test('prompt cache settings of a bad type or with a misspelt key, per model and per provider model', () => {
    const doc = values('spoke-b');
    doc.models[0].promptCache = { sessionTtlMs: 0, ttl: '1h' };
    doc.provider.vendors[0].models[0].promptCache = 'yes';
    const message = failure('spoke-b', doc);
    expect(message).toMatch(/ai-gateway:models\[0\]\.promptCache\.sessionTtlMs: Too small: expected number to be >0/);
    expect(message).toMatch(/ai-gateway:models\[0\]\.promptCache\.ttl: unknown key/);
    expect(message).toMatch(/ai-gateway:provider\.vendors\[0\]\.models\[0\]\.promptCache: Invalid input: expected boolean/);
    const hub = values('hub');
    hub.models[0].promptCache = { affinity: 'off' };
    expect(failure('hub', hub)).toMatch(/ai-gateway:models\[0\]\.promptCache\.affinity: Invalid input: expected boolean/);
  });

  test('capacity and routing on the hub are refused with where they belong', () => {
    const hub = values('hub');
    hub.capacity = { criticalReserve: 0.2 };
    hub.models[0].routing = 'cost';
    const message = failure('hub', hub);
    expect(message).toMatch(/ai-gateway:capacity: set capacity in the spoke stacks \(ai-gateway:capacity\)/);
    expect(message).toMatch(/ai-gateway:models\[0\]\.routing: set routing in the spoke stacks/);
  });
});

describe("the hub's spoke registry and custom domain", () => {
  const withSpokes = (change: (spokes: Values[]) => void): Values => {
    const doc = values('hub');
    change(doc.spokes);
    return doc;
  };

  test('a spoke CIDR outside spokeCidrPool', () => {
    expect(
      failure(
        'hub',
        withSpokes((s) => (s[1].cidr = '10.200.0.0/16')),
      ),
    ).toMatch(/ai-gateway:spokes\[1\]\.cidr: 10\.200\.0\.0\/16 is outside network\.spokeCidrPool 10\.64\.0\.0\/10/);
  });

  test('spokes overlapping each other, or sharing a hub port, account or stack', () => {
    const message = failure(
      'hub',
      withSpokes((s) => s.push({ ...s[0], stack: 'spoke-z', accountId: '555555555555', deployRoleArn: 'arn:aws:iam::555555555555:role/ai-gateway-deploy', cidr: '10.64.128.0/20' })),
    );
    expect(message).toMatch(/ai-gateway:spokes\[2\]\.cidr: 10\.64\.128\.0\/20 overlaps spokes\[0\] \(spoke-a\) 10\.64\.0\.0\/16/);
    expect(message).toMatch(/ai-gateway:spokes\[2\]\.hubPort: 8101 is taken by spokes\[0\] \(spoke-a\)/);
    expect(
      failure(
        'hub',
        withSpokes((s) => (s[1].accountId = s[0].accountId)),
      ),
    ).toMatch(/ai-gateway:spokes\[1\]\.accountId: 222222222222 is spokes\[0\] \(spoke-a\): one account per spoke/);
  });

  test("a deploy role outside the spoke's account, a kind without a provider hub", () => {
    expect(
      failure(
        'hub',
        withSpokes((s) => (s[0].deployRoleArn = 'arn:aws:iam::999999999999:role/x')),
      ),
    ).toMatch(/ai-gateway:spokes\[0\]\.deployRoleArn: the role must be in the spoke account 222222222222/);
    const doc = values('hub');
    doc.providerHubs = ['bedrock', 'on-prem'];
    expect(failure('hub', doc)).toMatch(/ai-gateway:spokes\[1\]\.kind: "third-party" is not in providerHubs/);
  });

  test('a custom domain whose certificate is in another Region or account than the hub (API Gateway would refuse it at deploy time)', () => {
    const doc = values('hub');
    // The edge-optimized habit: a certificate in us-east-1 for a hub elsewhere.
    doc.account.region = 'eu-west-1';
    expect(failure('hub', doc)).toMatch(/ai-gateway:api\.domain\.certificateArn: the certificate is in us-east-1; a Regional custom domain needs one in the hub's Region eu-west-1/);
    const other = values('hub');
    other.api.domain.certificateArn = 'arn:aws:acm:us-east-1:999999999999:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    expect(failure('hub', other)).toMatch(/ai-gateway:api\.domain\.certificateArn: the certificate belongs to account 999999999999; it must be in the hub account 111111111111/);
    const malformed = values('hub');
    malformed.api.domain.certificateArn = 'arn:aws:acm:certificate/abc';
    expect(failure('hub', malformed)).toMatch(/ai-gateway:api\.domain\.certificateArn: expected an ACM certificate ARN like/);
  });

  test('a custom domain without its hosted zone (its name would resolve nowhere)', () => {
    const doc = values('hub');
    delete doc.api.domain.hostedZoneId;
    expect(failure('hub', doc)).toMatch(/ai-gateway:api\.domain\.hostedZoneId: missing/);
  });

  test('a spoke without a deploy role (the registrar trusts that role)', () => {
    const doc = values('spoke-a');
    delete doc.account.deployRoleArn;
    expect(failure('spoke-a', doc)).toMatch(/ai-gateway:account\.deployRoleArn: missing/);
  });
});

describe('through the program', () => {
  test('an invalid stack file stops the program before any resource is declared', async () => {
    const config = readStackConfigFile('spoke-a');
    const network = JSON.parse(config['ai-gateway:network']);
    config['ai-gateway:network'] = JSON.stringify({ ...network, cidr: '10.0.128.0/17' });
    await expect(runStack('spoke-a', { config })).rejects.toThrow(/ai-gateway:network\.cidr: 10\.0\.128\.0\/17 overlaps the hub VPC/);
  });

  test('an API key given in plain text is refused; as a secret it is accepted', async () => {
    const config = { ...readStackConfigFile('hub'), 'ai-gateway:openaiApiKey': 'sk-test-not-a-real-key-000000000000' };
    await expect(runStack('hub', { config })).rejects.toThrow(/ai-gateway:openaiApiKey: an API key must be set with `pulumi config set --secret openaiApiKey`/);
    const run = await runStack('hub', { config, secretKeys: ['ai-gateway:openaiApiKey'], apiKeys: { anthropic: 'fake-anthropic-key-for-tests' } });
    // The openai secret's version (the other one holds the generated shared-state token).
    const versions = run.resources.filter((r) => r.type === 'aws:secretsmanager/secretVersion:SecretVersion' && r.inputs.secretId === 'hub-secrets-openai-id');
    expect(versions).toHaveLength(1);
    // It reaches the provider marked secret (encrypted in the state, masked in output).
    expect(versions[0].inputs.secretString).toEqual({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: 'sk-test-not-a-real-key-000000000000' });
    // The key reaches its secret and nothing else (no env var, no output, no policy).
    const elsewhere = run.resources.filter((r) => r !== versions[0] && JSON.stringify(r.inputs).includes('sk-test-not-a-real-key'));
    expect(elsewhere.map((r) => r.name)).toEqual([]);
    expect(JSON.stringify(run.outputs)).not.toContain('sk-test-not-a-real-key');
  });

  test('a third-party vendor without an API key fails the hub, naming the key (its empty secret would stop spoke tasks)', async () => {
    const config = { ...readStackConfigFile('hub'), 'ai-gateway:openaiApiKey': 'sk-test-not-a-real-key-000000000000' };
    await expect(runStack('hub', { config, secretKeys: ['ai-gateway:openaiApiKey'] })).rejects.toThrow(
      /ai-gateway:anthropicApiKey: missing: the secret ai-gateway\/third-party\/anthropic would be created empty/,
    );
  });

  test('an API key for a vendor the hub does not know is refused', async () => {
    const config = { ...readStackConfigFile('hub'), 'ai-gateway:mistralApiKey': 'x' };
    await expect(runStack('hub', { config, secretKeys: ['ai-gateway:mistralApiKey'], apiKeys: fakeApiKeys() })).rejects.toThrow(
      /ai-gateway:mistralApiKey: no thirdParty entry named "mistral"/,
    );
  });
});
