#!/usr/bin/env node
// The `balancer` command (package.json "bin"); the commands live in src/cli/.
import { main } from './cli/main.js';

await main(process.argv);
