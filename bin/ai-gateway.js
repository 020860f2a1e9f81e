#!/usr/bin/env node
require('../dist/runtime/src/entry/cli.js').main(process.argv.slice(2));
