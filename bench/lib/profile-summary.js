'use strict';
/**
 * Reads a V8 .cpuprofile (node --cpu-prof) into what the hot path costs: self and
 * inclusive time per function, and self time per package. Our compiled files are mapped
 * back to their TypeScript lines through the dist/ source maps.
 */
const { existsSync, readFileSync } = require('node:fs');
const { SourceMap } = require('node:module');
const { fileURLToPath } = require('node:url');
const { dirname, relative, resolve } = require('node:path');
const { ROOT } = require('./children');

/** Samples that are not work: idle waiting and the profiler's own bookkeeping. */
const NOT_WORK = new Set(['(idle)', '(program)']);

function packageOf(cf) {
  if (!cf.url) return '(native/V8)';
  if (cf.url.startsWith('node:')) return 'node core';
  const { path } = locate(cf);
  if (path.startsWith('node:')) return 'node core';
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (path.includes('/runtime/src/')) return 'gateway (ours)';
  return relative(ROOT, path) || path;
}

const maps = new Map();
/** The original source position (absolute path, 1-based line) of a position in a file with a .map beside it. */
function original(url, line, column) {
  if (!url || !url.startsWith('file://')) return undefined;
  const path = fileURLToPath(url);
  let map = maps.get(path);
  if (map === undefined) {
    map = null;
    if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
    maps.set(path, map);
  }
  const e = map?.findEntry(line, column);
  if (!e || !e.originalSource) return undefined;
  const src = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : resolve(dirname(path), e.originalSource);
  return { path: src, line: e.originalLine + 1 };
}

function shortPath(path) {
  const nm = path.lastIndexOf('node_modules/');
  return nm >= 0 ? path.slice(nm + 'node_modules/'.length) : relative(ROOT, path) || path;
}

/** Where a frame's code is: its original source when mapped, else its script. */
function locate(cf) {
  const mapped = original(cf.url, cf.lineNumber, cf.columnNumber);
  if (mapped) return mapped;
  if (!cf.url) return { path: '', line: 0 };
  return { path: cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url, line: cf.lineNumber + 1 };
}

function where(cf) {
  const { path, line } = locate(cf);
  return path ? `${shortPath(path)}:${line}` : '';
}

/**
 * Summary of one profile: total sampled ms, work ms (not idle), top functions by self
 * time and by inclusive time, and self time per package, each as ms and % of work.
 * `window` ({ fromUs, toUs } on the monotonic clock of process.hrtime) keeps only the
 * samples taken under load, not start-up or shutdown.
 */
function summarizeProfile(file, top = 15, window) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  let at = prof.startTime;
  prof.samples.forEach((id, i) => {
    at += prof.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });

  const fnKey = (n) => `${n.callFrame.functionName || '(anonymous)'}\u0000${where(n.callFrame)}`;
  const selfByFn = new Map();
  const inclByFn = new Map();
  const byPackage = new Map();
  let total = 0;
  let work = 0;
  for (const [id, us] of selfUs) {
    const n = nodes.get(id);
    total += us;
    const name = n.callFrame.functionName;
    if (NOT_WORK.has(name)) continue;
    work += us;
    const key = fnKey(n);
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
    const pkg = name === '(garbage collector)' ? '(garbage collector)' : packageOf(n.callFrame);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    // Inclusive: each function on the stack once per sample node.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = fnKey(nodes.get(cur));
      if (seen.has(k) || nodes.get(cur).callFrame.functionName === '(root)') continue;
      seen.add(k);
      inclByFn.set(k, (inclByFn.get(k) ?? 0) + us);
    }
  }
  const rank = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => {
        const [name, at] = key.split('\u0000');
        return { name, where: at ?? '', ms: us / 1000, share: us / work };
      });
  return { totalMs: total / 1000, workMs: work / 1000, self: rank(selfByFn), inclusive: rank(inclByFn), packages: rank(byPackage) };
}

module.exports = { summarizeProfile };

if (require.main === module) {
  const s = summarizeProfile(process.argv[2], Number(process.argv[3] ?? 25));
  console.log(`sampled ${s.totalMs.toFixed(0)} ms, work ${s.workMs.toFixed(0)} ms`);
  for (const [title, rows] of [
    ['packages (self)', s.packages],
    ['self', s.self],
    ['inclusive', s.inclusive],
  ]) {
    console.log(`\n${title}`);
    for (const r of rows) console.log(`${(r.share * 100).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name} ${r.where}`);
  }
}
