/**
 * runtime/Dockerfile: multi-stage, non-root, bundle only, no TypeScript loader. No Docker
 * engine runs here, so the test executes the Dockerfile's own bundling step and then the
 * image's command against the bundle alone, as the final stage would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ESBUILD_NODE_TARGET, NODE_MAJOR } from '../../infra/lib/node-runtime';
import { renderSpokeRuntimeConfig } from '../../infra/spoke/runtime-config';
import { REPO } from './pulumi-harness';
import { spokeConfig } from './spoke-checks';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

function stages(instructions: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of instructions) {
    if (i.keyword === 'FROM') out.push([]);
    out[out.length - 1]?.push(i);
  }
  return out;
}

const dockerfile = parseDockerfile(readFileSync(path.join(REPO, 'runtime', 'Dockerfile'), 'utf8'));
const [build, final] = [stages(dockerfile)[0], stages(dockerfile).at(-1) as Instruction[]];

describe('runtime/Dockerfile', () => {
  test('is multi-stage: a named build stage and a final stage that copies only the bundle from it', () => {
    expect(stages(dockerfile).length).toBeGreaterThanOrEqual(2);
    const stageName = / AS (\S+)$/i.exec(build[0].args)?.[1];
    expect(stageName).toBeDefined();
    const copies = final.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy.args).toMatch(new RegExp(`^--from=${stageName} \\S+gateway\\.js dist/gateway\\.js$`));
    expect(final.some((i) => i.keyword === 'RUN' && /npm|yarn|pnpm/.test(i.args))).toBe(false);
  });

  test('runs as a non-root user, exposes 8080 and starts the bundled spoke with plain node', () => {
    const users = final.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(users[users.length - 1]);
    expect(final.find((i) => i.keyword === 'EXPOSE')?.args).toBe('8080');
    const cmd = JSON.parse(final.find((i) => i.keyword === 'CMD')?.args ?? 'null');
    expect(cmd).toEqual(['node', '--max-semi-space-size=32', 'dist/gateway.js', '--role', 'spoke']);
    expect(final.find((i) => i.keyword === 'ENTRYPOINT')).toBeUndefined();
  });

  test('builds and runs on the Node line the platform deploys (the Lambda runtime and bundle target)', () => {
    for (const stage of stages(dockerfile)) expect(stage[0].args).toMatch(new RegExp(`^node:${NODE_MAJOR}-bookworm-slim\\b`));
    const bundleStep = build.find((i) => i.keyword === 'RUN' && i.args.includes('esbuild'));
    expect(bundleStep?.args).toContain(`--target=${ESBUILD_NODE_TARGET} `);
    // package.json engines names every Node major the suite runs on, the deployed one included.
    const engines: string = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).engines.node;
    const majors = engines.split('||').map((range) => Number(/\^(\d+)\./.exec(range.trim())?.[1]));
    expect(majors).toContain(NODE_MAJOR);
    expect(majors.every((m) => Number.isInteger(m))).toBe(true);
    // The second Jest run of `npm test` (scripts/test-node.js) uses the same Node line.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script without types
    const { DEPLOYED_NODE_VERSION } = require('../../scripts/test-node.js') as { DEPLOYED_NODE_VERSION: string };
    expect(Number(DEPLOYED_NODE_VERSION.split('.')[0])).toBe(NODE_MAJOR);
  });

  test('has no TypeScript loader anywhere at run time', () => {
    const runtimeText = final.map((i) => `${i.keyword} ${i.args}`).join('\n');
    expect(runtimeText).not.toMatch(/ts-node|tsx|@swc\/register|esbuild-register|--loader|--import|\.ts\b/);
  });

  test('.dockerignore keeps the build context to the lockfile, tsconfig and runtime sources', () => {
    const lines = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    expect(lines).toEqual(expect.arrayContaining(['!package.json', '!package-lock.json', '!runtime/src']));
  });
});

describe('the image command on the bundle the build stage makes', () => {
  let work: string;
  let app: string;
  let server: ChildProcess | undefined;

  beforeAll(() => {
    // The build stage's context: sources and installed dependencies (linked, not copied).
    work = mkdtempSync(path.join(tmpdir(), 'ai-gateway-image-'));
    for (const entry of ['runtime', 'node_modules', 'package.json', 'tsconfig.json']) symlinkSync(path.join(REPO, entry), path.join(work, entry));
    const bundleStep = build.find((i) => i.keyword === 'RUN' && i.args.includes('esbuild'));
    expect(bundleStep).toBeDefined();
    const result = spawnSync('sh', ['-c', (bundleStep as Instruction).args], {
      cwd: work,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: `${path.join(REPO, 'node_modules', '.bin')}:${process.env.PATH}`, npm_config_yes: 'true' },
    });
    expect(result.status).toBe(0);
    // The final stage: the bundle alone in /app/dist.
    app = path.join(work, 'app');
    mkdirSync(path.join(app, 'dist'), { recursive: true });
    spawnSync('cp', [path.join(work, 'dist', 'gateway.js'), path.join(app, 'dist', 'gateway.js')]);
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((done) => server?.once('exit', done));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('`--help` prints the usage and exits', () => {
    const result = spawnSync(process.execPath, ['dist/gateway.js', '--help'], { cwd: app, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH } });
    expect(result.stdout).toMatch(/usage: ai-gateway --config FILE/);
    expect(result.status).toBe(0);
  });

  test('with the config a spoke stack renders, the spoke serves /healthz and /v1/models and validates requests', async () => {
    const config = renderSpokeRuntimeConfig(spokeConfig('spoke-a'), 'spoke-a', 'rediss://state.invalid:6379');
    // Loopback and an ephemeral port here; in the container, 0.0.0.0:8080 from the task environment.
    config.server = { ...config.server, host: '127.0.0.1', port: 0 };
    // No shared-state cache on this machine: the spoke keeps its quotas in memory.
    delete config.state;
    // The image's own command line (its node flags included), with this machine's node.
    const cmd = JSON.parse(final.find((i) => i.keyword === 'CMD')?.args ?? 'null') as string[];
    server = spawn(process.execPath, cmd.slice(1), {
      cwd: app,
      env: { PATH: process.env.PATH, GATEWAY_CONFIG_JSON: JSON.stringify(config), AWS_REGION: 'us-east-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server?.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      server?.once('exit', (code) => reject(new Error(`the spoke exited with ${code} before listening: ${out}`)));
    });
    const health = await fetch(`${url}/healthz`);
    expect([200, 503]).toContain(health.status);
    expect(health.headers.get('content-type')).toMatch(/json/);
    await health.text();
    const models = await fetch(`${url}/v1/models`);
    expect(models.status).toBe(200);
    const body = (await models.json()) as { data: { id: string }[] };
    expect(body.data.map((m) => m.id).sort()).toEqual(['chat', 'reasoning']);
    // A body whose every field is valid and only a cross-field rule refuses: the request
    // check compiled at start-up runs in the bundle (broken, it would throw: a 500), and the
    // schema names the fault.
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } }),
    });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { message: string } }).error.message).toMatch(/stream_options is only allowed when stream is true/);
  });
});
