#!/usr/bin/env node
// Runs the TypeScript sources directly: tsx compiles them as they load, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
if (code !== null) process.exitCode = code;
