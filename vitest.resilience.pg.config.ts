/**
 * The resilience suite against store.driver "postgres" (issue 17): the same files as
 * vitest.resilience.config.ts, their servers on the data dir's own database of one private
 * PostgreSQL (test/helpers/pg-global.ts, test/resilience/helpers/server.ts), plus the replica test.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/resilience/**/*.test.ts'],
    globalSetup: ['test/helpers/pg-global.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
