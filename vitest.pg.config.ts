/**
 * The suite against store.driver "postgres" (issue 17): the same test files as the SQLite run, on one
 * private PostgreSQL server started by test/helpers/pg-global.ts; each test's data dir gets its own
 * database (test/helpers/driver.ts). Tests of SQLite-only mechanisms skip themselves here.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/core/config.test.ts',
      'test/core/pg.test.ts',
      'test/core/scheduler.test.ts',
      'test/core/metrics.test.ts',
      'test/core/pg-listen.test.ts',
      'test/core/errors-pg.test.ts',
      'test/modules/push/**/*.test.ts',
      'test/modules/sync/**/*.test.ts',
      'test/modules/conduit/**/*.test.ts',
      'test/modules/patriot/**/*.test.ts',
    ],
    exclude: ['node_modules/**'],
    globalSetup: ['test/helpers/pg-global.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
