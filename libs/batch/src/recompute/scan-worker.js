'use strict';
// Entry point of a scan worker thread. Worker threads start with a bare module loader, so the
// TypeScript loader the rest of the workspace runs under is registered here first (the same
// one tools/run.js uses, with the workspace's path aliases), whatever started the parent:
// a service, the CLI, or a test runner with its own transformer.
const path = require('node:path');
process.env.SWC_NODE_PROJECT ||= path.join(__dirname, '..', '..', '..', '..', 'tsconfig.base.json');
require('@swc-node/register');
require('./scan-worker.ts');
