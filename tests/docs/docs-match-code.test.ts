/**
 * The README and docs/infra.md are what app teams and platform engineers go by: every config
 * key they name exists, every key a user may set is named, every error code and route the
 * runtime has is in the README, and the committed stack files use documented keys only.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { hubConfigSchema, spokeConfigSchema } from '../../infra/config-schema';
import { configSchema } from '../../runtime/src/config/schema';
import { DEFAULT_FAILOVER } from '../../runtime/src/routing/failover-policy';
import { asSchemaPath, errorCodesInSource, isDocumented, readDoc, ROOT, schemaKeyPaths, section, tableRows, yamlBlocks, yamlKeyPaths, type DocEntry } from '../helpers/doc-keys';

const readme = readDoc('README.md');
const infraDoc = readDoc('docs/infra.md');

/** Keys a table row names must be keys of the schema; keys of the schema must be named somewhere. */
function expectSameKeys(schemaPaths: Set<string>, entries: readonly DocEntry[], sameAs: (path: string) => string = (p) => p) {
  expect(entries.length).toBeGreaterThan(5);
  expect(entries.map((e) => e.path).filter((p) => !schemaPaths.has(p))).toEqual([]);
  expect([...schemaPaths].filter((p) => !isDocumented(sameAs(p), entries))).toEqual([]);
}

describe('README config keys and the runtime config schema', () => {
  // Documented in this repository: the README and the example configs it points to (the contract,
  // ../shared/design/CONTRACT.md, is not in it: a clean clone has no ../shared).
  test('every key in the Config table exists, and every key a user may set is in the table or the example configs', () => {
    const examples = ['config/example.yaml', 'config/local/proxy.yaml', 'config/local/spoke-a.yaml', 'config/local/spoke-b.yaml', 'config/capacity-and-budgets.yaml'];
    const entries = [...tableRows(section(readme, '## Config')), ...examples.flatMap((f) => yamlKeyPaths(readDoc(f)))];
    // A model's `failover` takes the top-level one's keys ("key by key over the top-level one"), documented there.
    expectSameKeys(schemaKeyPaths(configSchema), entries, (p) => p.replace(/^models\[\]\.failover\./, 'failover.'));
  });
});

test('every key of the YAML examples in the README is a key of the config schema', () => {
  const keys = schemaKeyPaths(configSchema);
  const used = yamlBlocks(readme).flatMap((y) => yamlKeyPaths(y));
  expect(used.length).toBeGreaterThan(10);
  expect(used.map((e) => asSchemaPath(e.path, keys)).filter((p) => !keys.has(p))).toEqual([]);
});

describe('README config defaults', () => {
  const rows = tableRows(section(readme, '## Config'));
  /** The `name (value)` defaults a row states, numbers and booleans. */
  const stated = (path: string): Record<string, unknown> => {
    const row = rows.find((r) => r.path === path);
    if (!row) throw new Error(`no row ${path}`);
    return Object.fromEntries([...row.text.matchAll(/(\w+) \((\d+(?:\.\d+)?|true|false)\)/g)].map((m) => [m[1], JSON.parse(m[2])]));
  };
  const config = configSchema.parse({
    dns: {},
    capacity: {},
    guardrails: [{ id: 'g', bedrock: { guardrailId: 'x', version: '1', region: 'us-east-1' } }],
    providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'local' }] }] }],
  });

  test.each<[string, object]>([
    ['failover.adaptiveTimeouts', DEFAULT_FAILOVER.adaptive],
    ['failover.hedging', DEFAULT_FAILOVER.hedging],
    ['dns', config.dns ?? {}],
    ['capacity', config.capacity ?? {}],
    ['guardrails', config.guardrails[0].bedrock ?? {}],
    ['providers[].accounts[].endpoints', config.providers[0].accounts[0].endpoints[0]],
  ])('the defaults the %s row states are the ones in force', (path, defaults) => {
    const values = stated(path);
    expect(Object.keys(values).length).toBeGreaterThan(0);
    expect(defaults).toMatchObject(values);
  });
});

describe('README error codes and routes', () => {
  const sources = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => join(ROOT, dir, f));

  test('every error code the runtime can answer with is named in the README', () => {
    const codes = errorCodesInSource(sources('runtime/src'));
    // The scan itself still finds codes of each kind of site (GatewayError and its subclasses, badRequest, a provider refusal, a hand-written body, a code kept in a constant).
    expect([...codes]).toEqual(
      expect.arrayContaining(['invalid_api_key', 'invalid_json', 'unsupported_value', 'gateway_unavailable', 'provider_refused', 'tenant_concurrency_limited', 'tokens_over_route_limit']),
    );
    expect([...codes].filter((code) => !readme.includes(`\`${code}\``))).toEqual([]);
  });

  test('every route the app and the Node listener serve is in the README', () => {
    const app = readDoc('runtime/src/app.ts');
    // A parameter with its pattern (`:model{.+}`) reads as the README writes it (`{model}`).
    const gets = [...app.matchAll(/app\.get\('([^']+)'/g)].map((m) => `GET ${m[1].replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')}`);
    const posts = [...readDoc('runtime/src/api/routes.ts').matchAll(/\['(\/[^']+)', /g)].map((m) => `POST ${m[1]}`);
    expect(gets.length).toBeGreaterThan(5);
    expect(posts).toHaveLength(5);
    const named = (route: string) => readme.includes(`\`${route}\``) || readme.includes(`\`${route.split(' ')[1]}\``);
    expect([...gets, ...posts].filter((r) => !named(r))).toEqual([]);
  });
});

test.each([['README.md'], ['docs/infra.md']])('every source file %s names by its path exists', (doc) => {
  // Paths are written from the repository, from runtime/src, from runtime/src/providers or from infra/; outputs and patterns are not files,
  // and ../shared (the design documents beside the repository) is not in a clone.
  const named = [...readDoc(doc).matchAll(/`([\w.-]+\/[\w./-]+\.(?:ts|js|mjs|md|yaml|json))`/g)].map((m) => m[1]).filter((p) => !p.startsWith('.test-results/') && !p.startsWith('../'));
  expect(named.length).toBeGreaterThan(5);
  const exists = (p: string) => ['', 'runtime/src', 'runtime/src/providers', 'infra'].some((base) => existsSync(join(ROOT, base, p)));
  expect(named.filter((p) => !exists(p))).toEqual([]);
});

describe('docs/infra.md stack config keys and infra/config-schema.ts', () => {
  const reference = section(infraDoc, '## Config reference');

  test.each([
    ['hub', hubConfigSchema, 'Hub (`Pulumi.hub.yaml`):', 'Spoke (`Pulumi.spoke-*.yaml`):'],
    ['spoke', spokeConfigSchema, 'Spoke (`Pulumi.spoke-*.yaml`):', '\n## '],
  ])('%s: every key in the table exists, and every key is in the table', (_, schema, from, to) => {
    const start = reference.indexOf(from);
    const end = reference.indexOf(to, start + from.length);
    expectSameKeys(schemaKeyPaths(schema), tableRows(reference.slice(start, end < 0 ? undefined : end)));
  });

  test('the example spoke stack file is a valid spoke config', () => {
    const [example] = yamlBlocks(infraDoc);
    const config = (parse(example) as { config: Record<string, unknown> }).config;
    const keys = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^ai-gateway:/, ''), v]));
    expect(spokeConfigSchema.safeParse(keys).error?.issues ?? []).toEqual([]);
  });

  test.each([
    ['Pulumi.hub.yaml', hubConfigSchema],
    ['Pulumi.spoke-a.yaml', spokeConfigSchema],
    ['Pulumi.spoke-b.yaml', spokeConfigSchema],
  ])('%s uses only keys of the schema', (file, schema) => {
    const keys = schemaKeyPaths(schema);
    // The stack file's keys sit under `config:`, in the `ai-gateway:` namespace.
    const entries = yamlKeyPaths(readDoc(file)).filter((e) => e.path.startsWith('config.ai-gateway:'));
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.map((e) => asSchemaPath(e.path.slice('config.ai-gateway:'.length), keys)).filter((p) => !keys.has(p))).toEqual([]);
  });
});
