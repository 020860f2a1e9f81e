/**
 * Bundles a TypeScript entry into one minified CommonJS file with esbuild, for the Lambda
 * proxy. Everything is bundled, AWS SDK v3 included: the function then runs exactly the
 * dependency versions the tests ran, not whatever SDK the managed runtime ships that week.
 */
import * as pulumi from '@pulumi/pulumi';
import { buildSync } from 'esbuild';
import { existsSync } from 'node:fs';
import { ESBUILD_NODE_TARGET } from './node-runtime';

export interface Bundle {
  /** The bundled JavaScript. */
  readonly code: string;
  readonly bytes: number;
  /** Input files by size in the bundle, largest first: what to look at when it grows. */
  readonly inputs: { path: string; bytes: number }[];
}

/** The Lambda file name inside the archive; the handler is `index.handler`. */
export const LAMBDA_FILE = 'index.js';

const cache = new Map<string, Bundle>();

/** Bundles `entry` (memoized per entry: a program run bundles once). */
export function bundleLambda(entry: string): Bundle {
  const hit = cache.get(entry);
  if (hit) return hit;
  if (!existsSync(entry)) throw new Error(`Lambda entry ${entry} does not exist`);
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: ESBUILD_NODE_TARGET,
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    write: false,
    outfile: LAMBDA_FILE,
    metafile: true,
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  const output = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]];
  const inputs = Object.entries(output.inputs)
    .map(([path, info]) => ({ path, bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  const bundle: Bundle = { code: out.text, bytes: out.contents.byteLength, inputs };
  cache.set(entry, bundle);
  return bundle;
}

/** The Lambda deployment package: the one bundled file, nothing else of the repo. */
export function lambdaArchive(bundle: Bundle): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ [LAMBDA_FILE]: new pulumi.asset.StringAsset(bundle.code) });
}
