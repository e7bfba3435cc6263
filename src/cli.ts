#!/usr/bin/env node
// The `balancer` command (package.json "bin"); the commands live in src/cli/.
// First: refuses an unsupported Node.js with one clear line before any dependency loads.
import './util/node-version.js';
import { collectShortLivedBuffersEarly } from './util/buffer-gc.js';
import { main } from './cli/main.js';

collectShortLivedBuffersEarly();
await main(process.argv);
