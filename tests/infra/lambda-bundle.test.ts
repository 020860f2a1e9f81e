/**
 * The Lambda proxy bundle: runtime/src/lambda.ts bundled by esbuild into a package that
 * runs on its own (no node_modules of the repo beside it) and answers an API Gateway proxy
 * event with the config the hub stack renders for it. The packages a config may never need
 * sit in lazy.js, which a proxy routing to spokes never loads.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderProxyConfig } from '../../infra/hub/proxy-config';
import { bundleLambda, LAMBDA_FILE, LAZY_FILE, LAZY_PACKAGES, type Bundle } from '../../infra/lib/bundle';
import { DEFAULT_REPLY_TEXT, startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { parsedStackConfig, REPO } from './pulumi-harness';

const ENTRY = path.join(REPO, 'runtime', 'src', 'lambda.ts');

function proxyConfigJson(): string {
  const parsed = parsedStackConfig('hub');
  if (parsed.kind !== 'hub') throw new Error('not a hub');
  // No shared-state cache on this machine: the proxy keeps its limits in memory.
  const { state: _noCache, ...config } = renderProxyConfig(parsed.config, 'rediss://state.invalid:6379');
  return JSON.stringify(config);
}

/** The deployment package unpacked, as Lambda lays it out under /var/task. */
function unpack(bundle: Bundle, into: string): void {
  for (const [file, text] of Object.entries(bundle.files)) {
    mkdirSync(path.dirname(path.join(into, file)), { recursive: true });
    writeFileSync(path.join(into, file), text);
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ai-gateway-lambda-'));
  unpack(bundleLambda(ENTRY), dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the entry exists', () => {
  expect(existsSync(ENTRY)).toBe(true);
});

test('bundles into a minified entry, the lazily loaded packages and their stubs, and lists the inputs, largest first', () => {
  const bundle = bundleLambda(ENTRY);
  expect(Object.keys(bundle.files).sort()).toEqual([LAMBDA_FILE, LAZY_FILE, ...LAZY_PACKAGES.map((p) => `node_modules/${p}/index.js`)].sort());
  expect(bundle.code).toBe(bundle.files[LAMBDA_FILE]);
  expect(bundle.bytes).toBe(Object.values(bundle.files).reduce((n, text) => n + Buffer.byteLength(text), 0));
  // The SDK clients, ioredis and prom-client (the proxy writes EMF) are in lazy.js, not in what every cold start parses.
  expect(bundle.inputs.filter((i) => /node_modules\/(@aws-sdk|@smithy\/core|ioredis|prom-client)\//.test(i.path))).toEqual([]);
  expect(bundle.lazyInputs.some((i) => i.path.includes('node_modules/@aws-sdk/client-ssm/'))).toBe(true);
  expect(bundle.inputs.some((i) => i.path.startsWith('runtime/src/'))).toBe(true);
  // Lambda's limit for an unzipped package is 250 MB; the proxy stays far below it.
  expect(bundle.bytes).toBeLessThan(10 * 1024 * 1024);
  expect(bundle.inputs[0].bytes).toBeGreaterThanOrEqual(bundle.inputs[bundle.inputs.length - 1].bytes);
});

test('leaves out the compilers the proxy never runs (its spokes validate bodies and check strict answers)', () => {
  const bundle = bundleLambda(ENTRY);
  expect(bundle.inputs.filter((i) => /node_modules\/(ajv|ajv-formats|fast-uri)\//.test(i.path))).toEqual([]);
});

/** A script that sends `event` through the handler and prints the answer and whether lazy.js was loaded. */
function handlerScript(event: object): string {
  const lazyLoaded = `Object.keys(require.cache).some((f) => f.endsWith('/${LAZY_FILE}'))`;
  // On lines of their own: the gateway's log lines may come before and after.
  return `require('./${LAMBDA_FILE}').handler(${JSON.stringify(event)}, {}).then((r) => { process.stdout.write('\\n' + JSON.stringify({ ...r, lazyLoaded: ${lazyLoaded} }) + '\\n'); process.exit(0); }, (e) => { console.error(e); process.exit(1); });`;
}

test('the package alone, with the rendered proxy config and the parameter it polls, answers GET /v1/models through an API Gateway event without loading lazy.js', () => {
  const script = handlerScript(restEvent('GET', '/v1/models'));
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: dir,
    // As the hub sets it: the config inline, and the SSM parameter its hot reload polls (first after one interval).
    env: { PATH: process.env.PATH, GATEWAY_ROLE: 'proxy', GATEWAY_CONFIG_JSON: proxyConfigJson(), GATEWAY_CONFIG_SSM_PARAMETER: '/ai-gateway/hub/runtime-config' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  const response = JSON.parse(child.stdout);
  expect(response.statusCode).toBe(200);
  const body = JSON.parse(response.body);
  expect(body.data.map((m: { id: string }) => m.id).sort()).toEqual(['chat', 'local', 'reasoning']);
  expect(response.lazyLoaded).toBe(false);
});

/** Runs node with `args` in the unpacked package (async: a fake upstream may answer from this process); expects exit 0 and returns stdout. */
async function runInPackage(args: string[], env: Record<string, string | undefined>): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  return out;
}

describe('a config that needs a lazily loaded package', () => {
  let bedrock: FakeBedrock;
  beforeAll(async () => {
    bedrock = await startFakeBedrock();
  });
  afterAll(() => bedrock.close());

  test('loads it from lazy.js through its stub: a Bedrock chat answer, signed by the bundled SDK', async () => {
    const config = {
      providers: [{ id: 'br', type: 'bedrock', accounts: [{ id: 'acct', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'br', model: 'amazon.nova-pro-v1:0' }] }],
    };
    const script = handlerScript(restEvent('POST', '/v1/chat/completions', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }));
    const out = await runInPackage(['-e', script], {
      GATEWAY_ROLE: 'all-in-one',
      GATEWAY_CONFIG_JSON: JSON.stringify(config),
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_REGION: 'us-east-1',
    });
    const response = JSON.parse(out);
    expect({ status: response.statusCode, body: response.statusCode === 200 ? '' : response.body }).toEqual({ status: 200, body: '' });
    expect(JSON.parse(response.body).choices[0].message.content).toBe(DEFAULT_REPLY_TEXT);
    expect(response.lazyLoaded).toBe(true);
    expect(bedrock.requests.at(-1)?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
  });
});

describe('under the nodejs24.x handler contract (an async or streamified handler; the environment freezes when it returns)', () => {
  let spoke: FakeOpenAI;
  beforeAll(async () => {
    spoke = await startFakeOpenAI({ chunks: 3 });
  });
  afterAll(() => spoke.close());

  /** One invocation through the stand-in for Lambda's Node 24 runtime (tests/infra/fixtures); async: the spoke answers from this process. */
  async function invoke(event: object, env: Record<string, string>): Promise<Node24Invocation> {
    writeFileSync(path.join(dir, 'event.json'), JSON.stringify(event));
    const out = await runInPackage([NODE24_RUNTIME, path.join(dir, LAMBDA_FILE), path.join(dir, 'event.json')], {
      AWS_LAMBDA_FUNCTION_NAME: 'hub-proxy-fn',
      AWS_REGION: 'us-east-1',
      GATEWAY_ROLE: 'proxy',
      GATEWAY_METRICS_SERVICE: 'ai-gateway-hub',
      ...env,
    });
    const at = out.lastIndexOf(FROZEN);
    expect(at).toBeGreaterThanOrEqual(0);
    const result = { ...JSON.parse(out.slice(at + FROZEN.length)), linesAtReturn: out.slice(0, at).split('\n').filter(Boolean) } as Node24Invocation;
    expect(result.error).toBeUndefined();
    return result;
  }

  /** The prelude API Gateway reads (metadata JSON, 8 NUL bytes) and the body after it. */
  function splitPrelude(bytes: Buffer): { prelude: { statusCode: number; headers: Record<string, string> }; body: string } {
    const at = bytes.indexOf(Buffer.alloc(8));
    expect(at).toBeGreaterThan(0);
    return { prelude: JSON.parse(bytes.subarray(0, at).toString()), body: bytes.subarray(at + 8).toString() };
  }

  const spokeConfig = () => JSON.stringify({ spokes: [{ id: 'spoke-a', url: spoke.origin }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'gpt-4o-mini' }] }] });

  test('a streamed chat answer is whole, and its log line and metrics are written, when the handler returns', async () => {
    const result = await invoke(restEvent('POST', '/v1/chat/completions', { model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }), {
      GATEWAY_CONFIG_JSON: spokeConfig(),
    });
    // Streamed through awslambda.streamifyResponse, not a callback-style handler (nodejs24.x has none).
    expect(result.meta).toMatchObject({ streaming: true, isAsync: true });
    expect(result.finished).toBe(true);
    expect(result.contentType).toBe('application/vnd.awslambda.http-integration-response');
    const { prelude, body } = splitPrelude(Buffer.from(result.bytes as string, 'base64'));
    expect({ status: prelude.statusCode, body: prelude.statusCode === 200 ? '' : body }).toEqual({ status: 200, body: '' });
    expect(prelude.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(body.trim().endsWith('data: [DONE]')).toBe(true);
    // Node 24 does not wait for unresolved work after the handler: the request's EMF line is already out.
    const emf = result.linesAtReturn.map(parseMaybe).filter((l): l is Record<string, unknown> => typeof l === 'object' && l !== null && '_aws' in l);
    expect(emf.some((l) => l.Service === 'ai-gateway-hub' && l.Requests === 1)).toBe(true);
  });

  test('a JSON chat answer through a spoke loads nothing from lazy.js: no SDK, no Redis, no Prometheus', async () => {
    const script = handlerScript(restEvent('POST', '/v1/chat/completions', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }));
    const out = await runInPackage(['-e', script], { GATEWAY_ROLE: 'proxy', GATEWAY_CONFIG_JSON: spokeConfig(), GATEWAY_CONFIG_SSM_PARAMETER: '/ai-gateway/hub/runtime-config' });
    const response = JSON.parse(out.split('\n').find((line) => line.includes('"lazyLoaded":')) ?? 'null') as { statusCode: number; body: string; lazyLoaded: boolean };
    expect({ status: response.statusCode, body: response.statusCode === 200 ? '' : response.body }).toEqual({ status: 200, body: '' });
    expect((JSON.parse(response.body) as { choices: unknown[] }).choices).toHaveLength(1);
    expect(response.lazyLoaded).toBe(false);
  });

  test('a gateway that cannot start answers 503 in the OpenAI error shape, behind a well-formed prelude', async () => {
    const result = await invoke(restEvent('GET', '/v1/models'), { GATEWAY_CONFIG_JSON: '{"models": "not a list"}' });
    expect(result.finished).toBe(true);
    const { prelude, body } = splitPrelude(Buffer.from(result.bytes as string, 'base64'));
    expect(prelude.statusCode).toBe(503);
    expect(JSON.parse(body).error).toMatchObject({ type: 'api_error', code: 'gateway_unavailable' });
  });
});

interface Node24Invocation {
  meta: { streaming: boolean; isAsync: boolean; argsNum: number };
  error?: string;
  finished?: boolean;
  contentType?: string;
  bytes?: string;
  linesAtReturn: string[];
}

const NODE24_RUNTIME = path.join(__dirname, 'fixtures', 'lambda-node24-runtime.js');
/** The fixture's marker: stdout before it was written when the handler settled. */
const FROZEN = '@@lambda-node24-runtime: handler settled@@';

function parseMaybe(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return line;
  }
}

/** An API Gateway REST proxy event, as the stage passes it to the function. */
function restEvent(method: string, route: string, body?: unknown): Record<string, unknown> {
  return {
    resource: '/{proxy+}',
    path: route,
    httpMethod: method,
    headers: { host: 'example.execute-api.us-east-1.amazonaws.com', 'x-api-key': 'test', ...(body ? { 'content-type': 'application/json' } : {}) },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: route.slice(1) },
    stageVariables: null,
    requestContext: {
      resourcePath: '/{proxy+}',
      httpMethod: method,
      path: `/live${route}`,
      stage: 'live',
      requestId: 'req-1',
      accountId: '111111111111',
      apiId: 'example',
      identity: { sourceIp: '203.0.113.1' },
    },
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
  };
}
