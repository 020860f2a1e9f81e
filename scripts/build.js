#!/usr/bin/env node
// Compiles the runtime to dist/ (run by `npm ci` through `prepare`), so the bin,
// the container and the Lambda run plain JavaScript.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, '..', 'tsconfig.build.json')], { stdio: 'inherit' });
