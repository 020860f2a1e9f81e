'use strict';
/**
 * Every process the benchmarks start (upstream, floor proxy, gateways) goes through here,
 * so that all of them are stopped on exit, on Ctrl-C and on errors: no strays.
 */
const { fork, spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'ai-gateway.js');

/**
 * The node flags the runtime image starts the gateway with (the CMD of runtime/Dockerfile),
 * given to every Node server the benchmarks start, gateways and floor alike: what is
 * measured is what ships, and the floor runs on the same Node.
 */
function shippedNodeFlags() {
  const cmd = readFileSync(join(ROOT, 'runtime', 'Dockerfile'), 'utf8').match(/^CMD (\[.*\])\s*$/m);
  if (!cmd) throw new Error('runtime/Dockerfile has no CMD ["node", ...] line');
  const argv = JSON.parse(cmd[1]);
  return argv.slice(1, argv.indexOf('dist/gateway.js')).filter((a) => a.startsWith('--'));
}
const NODE_FLAGS = shippedNodeFlags();
const children = new Set();
let work;

function killAll() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  if (work) rmSync(work, { recursive: true, force: true });
  work = undefined;
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** A scratch directory for configs and profiles, removed on exit. */
function workDir() {
  work ??= mkdtempSync(join(tmpdir(), 'ai-gateway-bench-'));
  return work;
}

function track(child, name) {
  children.add(child);
  child.benchName = name;
  const tail = [];
  const keep = (d) => {
    tail.push(String(d));
    if (tail.length > 40) tail.shift();
  };
  child.stderr?.on('data', keep);
  child.output = () => tail.join('');
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the first line of `from` (stdout) matching `re`; rejects if the child exits first. */
function waitForLine(child, re, timeoutMs = 15_000, from = child.stdout) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`${child.benchName}: not ready within ${timeoutMs} ms\n${child.output()}`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) done(undefined, m);
    };
    const onExit = (code) => done(new Error(`${child.benchName} exited with code ${code} before it was ready\n${child.output()}`));
    function done(err, m) {
      clearTimeout(timer);
      from.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    from.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
  });
}

/** Stops one child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The fake upstream (bench/upstream.js) in its own process, driven over IPC. */
async function startUpstreamProcess(options) {
  const child = track(fork(join(__dirname, '..', 'upstream.js'), [JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }), 'upstream');
  const pending = new Map();
  let next = 1;
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`upstream exited with code ${code}\n${child.output()}`)));
    child.on('message', (m) => {
      if (m.type === 'ready') resolve(m.ports);
      else if (pending.has(m.id)) {
        pending.get(m.id)(m.result);
        pending.delete(m.id);
      }
    });
  });
  const ports = await ready;
  return {
    pid: child.pid,
    ports,
    url: (i = 0, account) => `http://127.0.0.1:${ports[i]}${account ? `/${account}` : ''}`,
    cmd: (cmd, arg) =>
      new Promise((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        child.send({ id, cmd, arg });
      }),
    stop: () => stopChild(child),
  };
}

/** The floor (or round-robin) proxy in its own process; `nodeArgs` go to node (e.g. --cpu-prof). */
async function startFloorProcess(targets, nodeArgs = []) {
  const args = [join(__dirname, '..', 'floor-proxy.js'), ...targets.flatMap((t) => ['--target', t])];
  const child = track(spawn(process.execPath, [...NODE_FLAGS, ...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), 'floor-proxy');
  const m = await waitForLine(child, /\{"port":(\d+)\}/);
  return { pid: child.pid, url: `http://127.0.0.1:${m[1]}`, stop: (graceMs) => stopChild(child, graceMs) };
}

/**
 * A log shipper's stand-in: a `cat` process that reads a gateway's stdout and throws it
 * away, after passing the line that says where it listens to its own stderr. The bench
 * process must not read the request lines itself: they would land in the load
 * generator's event loop, between its responses and its next requests, and put the
 * gateway's logging on the client's side of the latency (with two tiers, twice).
 */
function startLogDrain(name) {
  const script = 'while IFS= read -r line; do printf "%s\\n" "$line" >&2; case "$line" in *"listening on"*) exec cat >/dev/null;; esac; done';
  return track(spawn('sh', ['-c', script], { stdio: ['pipe', 'ignore', 'pipe'] }), `${name} log drain`);
}

/**
 * The compiled gateway (bin/ai-gateway.js -> dist/) in its own process, with `config`
 * written to a file, its stdout read by a log drain. `nodeArgs` go to node (e.g. --cpu-prof).
 */
async function startGatewayProcess({ name, config, role = 'all-in-one', nodeArgs = [], cli }) {
  const file = join(workDir(), `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  // `cli`: another build's entry/cli.js (A/B runs); its main() is called like bin/ai-gateway.js does.
  const entry = cli ? ['-e', `require(${JSON.stringify(cli)}).main(process.argv.slice(1))`, '--'] : [CLI];
  const args = [...NODE_FLAGS, ...nodeArgs, ...entry, '--config', file, '--role', role, '--port', '0'];
  const drain = startLogDrain(name);
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', drain.stdin, 'pipe'], cwd: ROOT }), name);
  drain.stdin.destroy(); // the gateway holds the pipe's write end now: the drain ends when it does
  const m = await waitForLine(child, /listening on (http:\/\/[^\s;,]+)/, 15_000, drain.stderr);
  return { pid: child.pid, url: m[1], child, stop: (graceMs) => stopChild(child, graceMs) };
}

/** Runs a bench tool's `main`, stops every child and exits: 0 when it resolved, 1 with its error. */
function runTool(main) {
  main().then(
    () => {
      killAll();
      process.exit(0);
    },
    (err) => {
      console.error(err);
      killAll();
      process.exit(1);
    },
  );
}

/** Resident set size of a process in KB (Linux /proc). */
function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

module.exports = { ROOT, CLI, NODE_FLAGS, workDir, track, waitForLine, stopChild, killAll, runTool, startUpstreamProcess, startFloorProcess, startGatewayProcess, rssKb };
