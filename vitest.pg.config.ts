/**
 * The suite against store.driver "postgres" (issue 17): the same test files as the SQLite run, on one
 * private PostgreSQL server started by test/helpers/pg-global.ts; each test's data dir gets its own
 * database (test/helpers/driver.ts). Tests of SQLite-only mechanisms skip themselves here.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/resilience/**', 'node_modules/**'],
    globalSetup: ['test/helpers/pg-global.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
