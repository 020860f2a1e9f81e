/**
 * Embeddings models in the config: `api: embeddings`, and the rule that failover never
 * mixes vector spaces (targets naming different provider models are refused at load,
 * naming the key path, unless `interchangeable: true`). Through the CLI too: a refused
 * config exits with status 2 before anything listens.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { configErrorOf as errorOf } from '../helpers/config-error';

const providers: GatewayConfigInput['providers'] = [
  { id: 'bedrock-a', type: 'bedrock', accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1' }, { region: 'us-west-2' }] }] },
  { id: 'bedrock-b', type: 'bedrock', accounts: [{ id: 'b', endpoints: [{ region: 'eu-west-1' }] }] },
  { id: 'oa', type: 'openai', accounts: [{ id: 'org', endpoints: [{ region: 'global' }] }] },
  { id: 'claude', type: 'anthropic', accounts: [{ id: 'org', endpoints: [{ region: 'global' }] }] },
];

const withModels = (models: GatewayConfigInput['models']): GatewayConfigInput => ({ providers, models });

type ModelInput = NonNullable<GatewayConfigInput['models']>[number];

/** An embeddings model named `name` over `targets` (provider, model) pairs. */
const embeddings = (name: string, targets: [string, string][], extra: Partial<ModelInput> = {}): ModelInput => ({
  name,
  api: 'embeddings',
  targets: targets.map(([provider, model]) => ({ provider, model })),
  ...extra,
});

describe('embeddings models in the config', () => {
  it('accepts one provider model on several providers, accounts and regions; api defaults to chat', () => {
    const config = parseConfig(
      withModels([
        embeddings(
          'embed',
          [
            ['bedrock-a', 'amazon.titan-embed-text-v2:0'],
            ['bedrock-b', 'amazon.titan-embed-text-v2:0'],
          ],
          { batch: { size: 1, concurrency: 4 } },
        ),
        { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] },
      ]),
    );
    expect(config.models.map((m) => [m.name, m.api])).toEqual([
      ['embed', 'embeddings'],
      ['chat', 'chat'],
    ]);
    expect(config.models[0].batch).toEqual({ size: 1, concurrency: 4 });
  });

  it('refuses targets that name different provider models, naming the key path and the key that would allow it', () => {
    const message = errorOf(
      withModels([
        { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] },
        embeddings('embed', [
          ['bedrock-a', 'amazon.titan-embed-text-v2:0'],
          ['bedrock-a', 'cohere.embed-english-v3'],
        ]),
      ]),
    );
    expect(message).toMatch(/models\.1\.targets\.1\.model: "cohere\.embed-english-v3" is not "amazon\.titan-embed-text-v2:0"/);
    expect(message).toMatch(/mix vector spaces.*models\.1\.interchangeable: true/);
  });

  it('accepts them when the operator declares them interchangeable', () => {
    const config = parseConfig(
      withModels([
        embeddings(
          'embed',
          [
            ['oa', 'text-embedding-3-small'],
            ['bedrock-a', 'cohere.embed-v4:0'],
          ],
          { interchangeable: true },
        ),
      ]),
    );
    expect(config.models[0].interchangeable).toBe(true);
  });

  it('refuses targets that cannot serve embeddings, and embeddings keys on chat models', () => {
    expect(errorOf(withModels([{ name: 'e', api: 'embeddings', targets: [{ provider: 'claude', model: 'claude-3-5-haiku-latest' }] }]))).toMatch(
      /models\.0\.targets\.0\.provider: provider "claude" is of type anthropic, which has no embeddings API/,
    );
    expect(errorOf(withModels([{ name: 'e', api: 'embeddings', targets: [{ provider: 'bedrock-a', model: 'amazon.nova-pro-v1:0' }] }]))).toMatch(
      /models\.0\.targets\.0\.model: "amazon\.nova-pro-v1:0" is not a Bedrock embeddings model/,
    );
    expect(errorOf(withModels([{ name: 'c', targets: [{ provider: 'oa', model: 'gpt-4o' }], interchangeable: true }]))).toMatch(
      /models\.0\.interchangeable: only for models with api: embeddings/,
    );
    expect(errorOf(withModels([{ name: 'c', targets: [{ provider: 'oa', model: 'gpt-4o' }], batch: { size: 8 } }]))).toMatch(/models\.0\.batch: only for models with api: embeddings/);
    expect(errorOf(withModels([{ name: 'c', api: 'vision' as 'chat', targets: [{ provider: 'oa', model: 'gpt-4o' }] }]))).toMatch(/models\.0\.api: .*"chat"\|"embeddings"/);
    expect(errorOf(withModels([{ name: 'e', api: 'embeddings', targets: [{ provider: 'oa', model: 'm' }], batch: { size: 0 } }]))).toMatch(/models\.0\.batch\.size/);
  });

  it('Bedrock cross-Region inference profiles of the same models are embeddings models too', () => {
    const config = parseConfig(
      withModels([
        { name: 'e', api: 'embeddings', targets: [{ provider: 'bedrock-a', model: 'us.cohere.embed-v4:0' }] },
        { name: 't', api: 'embeddings', targets: [{ provider: 'bedrock-b', model: 'amazon.titan-embed-text-v2:0' }] },
      ]),
    );
    expect(config.models).toHaveLength(2);
  });

  it('the CLI refuses a config that mixes vector spaces with status 2 and the key path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'embed-cfg-'));
    const file = join(dir, 'mixed.json');
    writeFileSync(
      file,
      JSON.stringify(
        withModels([
          embeddings('embed', [
            ['oa', 'text-embedding-3-small'],
            ['oa', 'text-embedding-3-large'],
          ]),
        ]),
      ),
    );
    const run = spawnSync(process.execPath, [join(__dirname, '../../bin/ai-gateway.js'), '--config', file, '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/models\.0\.targets\.1\.model: "text-embedding-3-large" is not "text-embedding-3-small"/);
  });
});
