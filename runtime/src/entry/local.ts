/**
 * `npm start`: the local topology that mirrors AWS. A proxy on 127.0.0.1:8080 forwards
 * to two spoke processes (spoke-a, spoke-b) with simulated provider accounts. Each is
 * the real CLI in its own process, as on Lambda and Fargate. `--port N` moves the proxy
 * to N and the spokes to N+1, N+2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify } from 'yaml';

/** The repository root, whether this runs compiled (dist/) or from source. */
function findRoot(dir: string): string {
  return existsSync(join(dir, 'package.json')) ? dir : findRoot(resolve(dir, '..'));
}
const ROOT = findRoot(__dirname);
const CONFIG_DIR = join(ROOT, 'config', 'local');
const CLI = join(ROOT, 'bin', 'ai-gateway.js');

interface Proc {
  name: string;
  role: string;
  port: number;
  config: string;
}

async function waitHealthy(url: string, child: ChildProcess, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}/healthz did not answer 200`);
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' } } });
  const base = Number(values.port ?? process.env.PORT ?? 8080);
  const work = mkdtempSync(join(tmpdir(), 'ai-gateway-local-'));
  const proxyDoc = parseYaml(readFileSync(join(CONFIG_DIR, 'proxy.yaml'), 'utf8')) as { spokes: { id: string; url: string }[] };
  proxyDoc.spokes = proxyDoc.spokes.map((s, i) => ({ ...s, url: `http://127.0.0.1:${base + 1 + i}` }));
  const proxyConfig = join(work, 'proxy.yaml');
  writeFileSync(proxyConfig, stringify(proxyDoc));

  const procs: Proc[] = [
    { name: 'spoke-a', role: 'spoke', port: base + 1, config: join(CONFIG_DIR, 'spoke-a.yaml') },
    { name: 'spoke-b', role: 'spoke', port: base + 2, config: join(CONFIG_DIR, 'spoke-b.yaml') },
    { name: 'proxy', role: 'proxy', port: base, config: proxyConfig },
  ];
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = (code: number) => {
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
    process.exitCode = code;
  };
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));

  try {
    for (const p of procs) {
      const child = spawn(process.execPath, [CLI, '--config', p.config, '--role', p.role, '--port', String(p.port)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const tag = (line: string) => `[${p.name}] ${line}`;
      child.stdout!.setEncoding('utf8').on('data', (d: string) => d.trimEnd().split('\n').forEach((l) => console.log(tag(l))));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => d.trimEnd().split('\n').forEach((l) => console.error(tag(l))));
      child.on('exit', (code) => {
        if (!stopping) {
          console.error(tag(`exited with code ${code}; stopping the topology`));
          stop(1);
        }
      });
      await waitHealthy(`http://127.0.0.1:${p.port}`, child);
    }
  } catch (err) {
    console.error(`npm start: ${(err as Error).message}`);
    stop(1);
    return;
  }

  const url = `http://127.0.0.1:${base}`;
  console.log(`
ai-gateway local topology is up:
  proxy    ${url}   (forwards to spoke-a ${procs[0]!.port} and spoke-b ${procs[1]!.port}, simulated accounts)
  API      ${url}/v1   (OpenAI-compatible; no key needed locally)

try it:
  curl -s ${url}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"chat","messages":[{"role":"user","content":"Hello!"}]}'

live state: ${url}/healthz   (spokes: http://127.0.0.1:${procs[0]!.port}/healthz, http://127.0.0.1:${procs[1]!.port}/healthz)
Ctrl-C stops all three processes.`);
}

if (require.main === module) void main(process.argv.slice(2));
