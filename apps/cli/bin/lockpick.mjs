#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): tsx compiles on the fly and is inherited by
// worker threads through the registered loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
