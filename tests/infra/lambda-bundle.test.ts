/**
 * The Lambda proxy bundle: runtime/src/lambda.ts bundled by esbuild into one file that
 * runs on its own (no node_modules beside it) and answers an API Gateway proxy event with
 * the config the hub stack renders for it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderProxyConfig } from '../../infra/hub/proxy-config';
import { bundleLambda, LAMBDA_FILE } from '../../infra/lib/bundle';
import { parsedStackConfig, REPO } from './pulumi-harness';

const ENTRY = path.join(REPO, 'runtime', 'src', 'lambda.ts');

function proxyConfigJson(): string {
  const parsed = parsedStackConfig('hub');
  if (parsed.kind !== 'hub') throw new Error('not a hub');
  // No shared-state cache on this machine: the proxy keeps its limits in memory.
  const { state: _noCache, ...config } = renderProxyConfig(parsed.config, 'rediss://state.invalid:6379');
  return JSON.stringify(config);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ai-gateway-lambda-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the entry exists', () => {
  expect(existsSync(ENTRY)).toBe(true);
});

test('bundles into one minified file and lists its inputs, largest first', () => {
  const bundle = bundleLambda(ENTRY);
  expect(bundle.bytes).toBe(Buffer.byteLength(bundle.code));
  expect(bundle.inputs.some((i) => i.path.startsWith('runtime/src/'))).toBe(true);
  // Lambda's limit for an unzipped package is 250 MB; the proxy stays far below it.
  expect(bundle.bytes).toBeLessThan(10 * 1024 * 1024);
  expect(bundle.inputs[0].bytes).toBeGreaterThanOrEqual(bundle.inputs[bundle.inputs.length - 1].bytes);
});

test('the bundle alone, with the rendered proxy config, answers GET /v1/models through an API Gateway event', () => {
  writeFileSync(path.join(dir, LAMBDA_FILE), bundleLambda(ENTRY).code);
  const event = {
    resource: '/{proxy+}',
    path: '/v1/models',
    httpMethod: 'GET',
    headers: { host: 'example.execute-api.us-east-1.amazonaws.com', 'x-api-key': 'test' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: 'v1/models' },
    stageVariables: null,
    requestContext: { resourcePath: '/{proxy+}', httpMethod: 'GET', path: '/live/v1/models', stage: 'live', requestId: 'req-1', accountId: '111111111111', apiId: 'example', identity: { sourceIp: '203.0.113.1' } },
    body: null,
    isBase64Encoded: false,
  };
  const script = `require('./${LAMBDA_FILE}').handler(${JSON.stringify(event)}, {}).then((r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); }, (e) => { console.error(e); process.exit(1); });`;
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: dir,
    env: { PATH: process.env.PATH, GATEWAY_ROLE: 'proxy', GATEWAY_CONFIG_JSON: proxyConfigJson() },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  const response = JSON.parse(child.stdout);
  expect(response.statusCode).toBe(200);
  const body = JSON.parse(response.body);
  expect(body.data.map((m: { id: string }) => m.id).sort()).toEqual(['chat', 'local', 'reasoning']);
});
