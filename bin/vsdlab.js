#!/usr/bin/env node
// thin launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci`)
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
