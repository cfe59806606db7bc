import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    // Compile first: tests and their worker threads must run the same code.
    globalSetup: ['./scripts/vitest_build.mjs'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start their own worker threads; two cores are shared with them.
    fileParallelism: false,
  },
});
