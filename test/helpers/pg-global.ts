/**
 * vitest globalSetup of the PostgreSQL run (vitest.pg.config.ts): one private PostgreSQL server for
 * the whole run (test/helpers/postgres.ts), its address handed to the test workers in the
 * environment; each test's data dir gets its own database there (test/helpers/driver.ts).
 */
import { Postgres, postgresUnavailable } from './postgres.js';

let server: Postgres | undefined;

export async function setup(): Promise<void> {
  const why = postgresUnavailable();
  if (why) throw new Error(`the PostgreSQL test run needs a server: ${why}`);
  server = await Postgres.start();
  process.env.FIELDHUB_TEST_STORE = 'postgres';
  process.env.FIELDHUB_TEST_PG_URL = server.url('fieldhub');
}

export function teardown(): void {
  server?.stop();
}
