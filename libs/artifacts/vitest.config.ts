import { defineConfig } from 'vitest/config';

// Generators and checkers over thousands of problems take a second or two alone; a busy shared
// machine (two cores, a training run beside the tests) stretches that past vitest's 5 s default.
export default defineConfig({ test: { testTimeout: 30_000, hookTimeout: 30_000 } });
