#!/usr/bin/env node
// Runs a TypeScript entry point of this workspace without a build step:
// @swc-node/register transpiles on the fly (decorator metadata on, tsconfig paths honoured).
'use strict';
const path = require('node:path');
process.env.SWC_NODE_PROJECT ||= path.join(__dirname, '..', 'tsconfig.base.json');
require('@swc-node/register');
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node tools/run.js <file.ts> [args...]');
  process.exit(2);
}
process.argv = [process.argv[0], path.resolve(entry), ...rest];
require(path.resolve(entry));
