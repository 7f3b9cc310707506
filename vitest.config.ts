import { defineConfig } from 'vitest/config';

// Multi-threaded tests spawn their own worker threads on one SharedArrayBuffer; running test
// files in parallel on a 2-core machine would only add noise, so files run one at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.js'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
