import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig, parseConfigJson, parseConfigText } from '../../runtime/src/config/load';
import { loadJsonStartup } from '../../runtime/src/entry/startup-json';
import { configErrorOf as errorOf } from '../helpers/config-error';

const minimal = {
  providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'r' }] }] }],
  models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'm' }] }],
};

describe('config loading', () => {
  it('reads YAML and JSON files with defaults filled in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(
      join(dir, 'c.yaml'),
      'providers:\n  - id: sim\n    type: simulated\n    accounts: [{ id: a, endpoints: [{ region: r }] }]\nmodels:\n  - { name: chat, targets: [{ provider: sim, model: m }] }\n',
    );
    writeFileSync(join(dir, 'c.json'), JSON.stringify(minimal));
    for (const f of ['c.yaml', 'c.json']) {
      const cfg = loadConfigFile(join(dir, f));
      expect(cfg.server).toEqual({ port: 8080, host: '127.0.0.1', maxBodyBytes: 33554432, requestTimeoutMs: 120000, shutdownGraceMs: 25000, connectionMaxAgeMs: 20000 });
      expect(cfg.providers[0].accounts[0].endpoints[0]).toMatchObject({ region: 'r', latencyMs: 50, failureRate: 0 });
    }
  });

  it('names the key path and what was expected', () => {
    expect(errorOf({ ...minimal, server: { port: 'eighty' } })).toMatch(/server\.port: .*expected number/);
    expect(errorOf({ ...minimal, providers: [{ ...minimal.providers[0], type: 'gemini' }] })).toMatch(/providers\.0\.type: .*"bedrock"/);
    expect(errorOf({ ...minimal, models: [{ name: 'chat', targets: [{ provider: 'nope', model: 'm' }] }] })).toMatch(
      /models\.0\.targets\.0\.provider: unknown provider "nope" \(known: sim\)/,
    );
    expect(errorOf({ ...minimal, bogus: 1 })).toMatch(/\(root\): .*bogus/);
    expect(errorOf({ ...minimal, tenants: [{ id: 't', keys: ['plaintext-key'] }] })).toMatch(/tenants\.0\.keys\.0: "sha256:"/);
    expect(errorOf({ ...minimal, failover: { hedging: { share: 1.5 } } })).toMatch(/failover\.hedging\.share: /);
    expect(errorOf({ ...minimal, failover: { adaptiveTimeouts: { percentile: 1 } } })).toMatch(/failover\.adaptiveTimeouts\.percentile: /);
    expect(errorOf({ ...minimal, models: [{ ...minimal.models[0], failover: { maxRetryAfterMs: -1 } }] })).toMatch(/models\.0\.failover\.maxRetryAfterMs: /);
    expect(errorOf({ ...minimal, models: [{ ...minimal.models[0], failover: { hedge: true } }] })).toMatch(/models\.0\.failover: .*hedge/);
  });

  it('names the list items on the path by id or name, after the key path', () => {
    const tenants = ['alpha', 'beta', 'gamma'].map((id) => ({ id, keys: [] as string[] }));
    tenants[2] = { ...tenants[2], limits: { rpm: -1 } } as (typeof tenants)[number];
    expect(errorOf({ ...minimal, tenants })).toMatch(/tenants\.2\.limits\.rpm: .* \(in tenant "gamma"\)$/m);
    const endpoints = [{ region: 'r', failureRate: 2 }];
    const providers = [{ ...minimal.providers[0], accounts: [{ id: 'a' }, { id: 'acct-b', endpoints }] }];
    expect(errorOf({ ...minimal, providers })).toMatch(/providers\.0\.accounts\.1\.endpoints\.0\.failureRate: .* \(in provider "sim", account "acct-b"\)$/m);
    expect(errorOf({ ...minimal, models: [{ name: 'chat', targets: [{ provider: 'nope', model: 'm' }] }] })).toMatch(/\(known: sim\) \(in model "chat"\)$/m);
    // An item without an id is not named, nor is the document's root.
    expect(errorOf({ ...minimal, server: { port: 'eighty' } })).toMatch(/server\.port: [^(]*$/m);
    expect(errorOf({ ...minimal, models: [{ name: 'chat', targets: [{ provider: 'sim', model: 7 }] }] })).toMatch(/targets\.0\.model: [^(]*\(in model "chat"\)$/m);
  });

  it('gives simulated endpoints their behaviour and no other kind any of it', () => {
    const cfg = parseConfig({
      providers: [...minimal.providers, { id: 'oa', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'us', url: 'http://127.0.0.1:9/v1' }] }] }],
      models: minimal.models,
    });
    expect(cfg.providers[0].accounts[0].endpoints[0]).toEqual({ region: 'r', latencyMs: 50, tokensPerSecond: 200, failureRate: 0 });
    expect(cfg.providers[1].accounts[0].endpoints[0]).toEqual({ region: 'us', url: 'http://127.0.0.1:9/v1' });
    const bedrock = { providers: [{ id: 'b', type: 'bedrock', accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', latencyMs: 5 }] }] }] };
    expect(errorOf(bedrock)).toMatch(/providers\.0\.accounts\.0\.endpoints\.0: Unrecognized key: "latencyMs"/);
    const badRate = { ...minimal, providers: [{ ...minimal.providers[0], accounts: [{ id: 'a', endpoints: [{ region: 'r', failureRate: 2 }] }] }] };
    expect(errorOf(badRate)).toMatch(/providers\.0\.accounts\.0\.endpoints\.0\.failureRate: /);
  });

  it('accepts every config shipped in config/', () => {
    const root = join(__dirname, '../../config');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['example.yaml', 'capacity-and-budgets.yaml', join('local', 'proxy.yaml')]));
    for (const f of files) expect(() => loadConfigFile(join(root, f))).not.toThrow();
  });

  it('rejects duplicates and credentials on bedrock accounts', () => {
    const dup = { ...minimal, providers: [minimal.providers[0], minimal.providers[0]] };
    expect(errorOf(dup)).toMatch(/providers\.1\.id: duplicate id "sim"/);
    const bedrock = { providers: [{ id: 'b', type: 'bedrock', accounts: [{ id: 'a', credentials: { env: 'X' }, endpoints: [{ region: 'us-east-1' }] }] }] };
    expect(errorOf(bedrock)).toMatch(/providers\.0\.accounts\.0\.credentials: bedrock accounts use the AWS credential chain/);
  });

  it('explains unreadable and unparsable files', () => {
    expect(() => loadConfigFile('/nonexistent/gw.yaml')).toThrow(/cannot read config \/nonexistent\/gw.yaml: ENOENT/);
    expect(() => parseConfigText('models: [unclosed', 'x.yaml')).toThrow(/invalid config x.yaml: not YAML or JSON/);
    expect(() => parseConfigText('', 'x.yaml')).toThrow(/the file is empty/);
  });
});

describe('the Lambda proxy reads JSON only', () => {
  it('starts from inline JSON or a JSON file, and says so when it meets YAML', async () => {
    const fromInline = await loadJsonStartup({ GATEWAY_CONFIG_JSON: JSON.stringify(minimal) });
    expect(fromInline.config.models.map((m) => m.name)).toEqual(['chat']);
    expect(fromInline.source).toBeUndefined();

    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify(minimal));
    writeFileSync(join(dir, 'c.yaml'), 'models:\n  - { name: chat, targets: [] }\n');
    const fromFile = await loadJsonStartup({ GATEWAY_CONFIG: join(dir, 'c.json') });
    expect(fromFile.config.providers[0].id).toBe('sim');
    expect(fromFile.source?.name).toBe(join(dir, 'c.json'));

    await expect(loadJsonStartup({ GATEWAY_CONFIG: join(dir, 'c.yaml') })).rejects.toThrow(/invalid config .*c\.yaml: not JSON/);
    await expect(loadJsonStartup({ GATEWAY_CONFIG_JSON: 'models: []' })).rejects.toThrow(/invalid config GATEWAY_CONFIG_JSON: not JSON/);
    expect(() => parseConfigJson('  ', 'x')).toThrow(/invalid config x: the text is empty/);
    expect(() => parseConfigJson('{"models": [{"name": 3}]}', 'x')).toThrow(/models\.0\.name/);
  });
});
