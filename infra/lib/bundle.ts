/**
 * Bundles the Lambda proxy with esbuild into minified CommonJS. Everything is bundled, AWS
 * SDK v3 included: the function then runs exactly the dependency versions the tests ran,
 * not whatever SDK the managed runtime ships that week.
 *
 * Two files, because V8 parses all of a file before it runs any of it: `index.js` holds
 * what every cold start runs, and `lazy.js` the packages the runtime loads only when a
 * config needs them (Bedrock, Secrets Manager, the SSM config poll, Redis, Prometheus). The runtime
 * already `require`s those only when it uses them; in the archive each such package is a
 * one-line `node_modules/<package>/index.js` that takes it from `lazy.js`, so a proxy that
 * routes to spokes never parses them.
 */
import * as pulumi from '@pulumi/pulumi';
import { buildSync, type BuildOptions, type Metafile, type OutputFile } from 'esbuild';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ESBUILD_NODE_TARGET } from './node-runtime';

export interface Bundle {
  /** Every file of the deployment package by its path in the archive. */
  readonly files: Readonly<Record<string, string>>;
  /** The bundled entry, `files[LAMBDA_FILE]`: what every cold start parses and runs. */
  readonly code: string;
  /** Bytes of all the JavaScript in the package. */
  readonly bytes: number;
  /** Input files of `index.js` by size, largest first: what to look at when it grows. */
  readonly inputs: { path: string; bytes: number }[];
  /** The same for `lazy.js`. */
  readonly lazyInputs: { path: string; bytes: number }[];
}

/** The Lambda file name inside the archive; the handler is `index.handler`. */
export const LAMBDA_FILE = 'index.js';
/** The packages loaded on first use, bundled together (one copy of the SDK's shared code). */
export const LAZY_FILE = 'lazy.js';

/**
 * Packages the runtime requires only where a config uses them (registry.ts, quota/factory.ts,
 * config/watch.ts, startup-json.ts and the modules they load), and prom-client, which only
 * a gateway that serves /metrics loads (observe-gateway.ts; the Lambda proxy writes EMF).
 * One of them imported on the cold path still works (its stub loads lazy.js), it only
 * costs the parse again.
 */
export const LAZY_PACKAGES = ['@aws-sdk/client-bedrock-runtime', '@aws-sdk/client-secrets-manager', '@aws-sdk/client-ssm', '@smithy/node-http-handler', 'ioredis', 'prom-client'] as const;

const cache = new Map<string, Bundle>();

function inputsOf(metafile: Metafile): { path: string; bytes: number }[] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined || Object.keys(o.inputs).length > 0);
  return Object.entries(output?.inputs ?? {})
    .map(([file, info]) => ({ path: file, bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
}

/**
 * Bundles `entry` (memoized per entry and options: a program run bundles once).
 * `sourcemap` adds an external .map beside each file (for profiling the start-up).
 */
export function bundleLambda(entry: string, opts: { sourcemap?: boolean } = {}): Bundle {
  const key = `${entry}\0${opts.sourcemap === true}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (!existsSync(entry)) throw new Error(`Lambda entry ${entry} does not exist`);
  const common: BuildOptions = {
    bundle: true,
    platform: 'node',
    target: ESBUILD_NODE_TARGET,
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    write: false,
    metafile: true,
    logLevel: 'silent',
    ...(opts.sourcemap ? { sourcemap: 'external', sourcesContent: false } : {}),
  };
  const main = buildSync({ ...common, entryPoints: [entry], outfile: LAMBDA_FILE, external: [...LAZY_PACKAGES] });
  // Getters: lazy.js itself runs a package's module code only when that package is asked for.
  const lazySource = LAZY_PACKAGES.map((p) => `Object.defineProperty(exports, ${JSON.stringify(p)}, { enumerable: true, get: () => require(${JSON.stringify(p)}) });`).join('\n');
  const lazy = buildSync({ ...common, stdin: { contents: lazySource, resolveDir: path.dirname(entry), sourcefile: 'lazy-packages.js', loader: 'js' }, outfile: LAZY_FILE });

  const files: Record<string, string> = {};
  const outputs: OutputFile[] = [...(main.outputFiles ?? []), ...(lazy.outputFiles ?? [])];
  for (const out of outputs) files[path.basename(out.path)] = out.text;
  for (const p of LAZY_PACKAGES) {
    const stub = `node_modules/${p}/index.js`;
    const up = '../'.repeat(stub.split('/').length - 1);
    files[stub] = `module.exports = require(${JSON.stringify(`${up}${LAZY_FILE}`)})[${JSON.stringify(p)}];\n`;
  }
  const bytes = Object.entries(files)
    .filter(([file]) => file.endsWith('.js'))
    .reduce((sum, [, text]) => sum + Buffer.byteLength(text), 0);
  if (!main.metafile || !lazy.metafile) throw new Error('esbuild returned no metafile');
  const bundle: Bundle = { files, code: files[LAMBDA_FILE], bytes, inputs: inputsOf(main.metafile), lazyInputs: inputsOf(lazy.metafile) };
  cache.set(key, bundle);
  return bundle;
}

/** The Lambda deployment package: the bundled files, nothing else of the repo. */
export function lambdaArchive(bundle: Bundle): pulumi.asset.AssetArchive {
  const assets: Record<string, pulumi.asset.StringAsset> = {};
  for (const [file, text] of Object.entries(bundle.files)) {
    if (!file.endsWith('.map')) assets[file] = new pulumi.asset.StringAsset(text);
  }
  return new pulumi.asset.AssetArchive(assets);
}
