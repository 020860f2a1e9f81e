'use strict';
/** The benchmarks run the compiled gateway: dist/ must match runtime/src, else it is rebuilt. */
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');
const { ROOT } = require('./children');

function sources(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Source files whose compiled .js is missing or older than the source. */
function staleFiles() {
  const src = join(ROOT, 'runtime', 'src');
  return sources(src).filter((file) => {
    const out = join(ROOT, 'dist', 'runtime', 'src', relative(src, file)).replace(/\.ts$/, '.js');
    return !existsSync(out) || statSync(out).mtimeMs < statSync(file).mtimeMs;
  });
}

/** Builds with `npm run build` (scripts/build.js) when dist/ is stale; `force` always builds. */
function ensureBuilt({ force = false, log = console.log } = {}) {
  const stale = staleFiles();
  if (!force && stale.length === 0) {
    log('dist/ is up to date with runtime/src');
    return;
  }
  log(force ? 'building dist/ (npm run build)' : `dist/ is stale (${stale.length} files, e.g. ${relative(ROOT, stale[0])}): npm run build`);
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.js')], { stdio: 'inherit', cwd: ROOT });
  const still = staleFiles();
  if (still.length > 0) throw new Error(`the build left ${still.length} files stale, e.g. ${relative(ROOT, still[0])}`);
}

module.exports = { ensureBuilt, staleFiles };
