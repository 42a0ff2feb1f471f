import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Training tests take seconds on one wasm thread; a busy shared machine can stretch that.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
