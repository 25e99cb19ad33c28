/**
 * Which store driver the tests run against: "sqlite" (the default run) or "postgres" (the run of
 * vitest.pg.config.ts, whose globalSetup starts one private PostgreSQL server). On "postgres" every
 * test data dir gets its own database, named after the data dir, so a test that restarts the app on
 * the same data dir finds its data again, as it would in the SQLite file.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

export const TEST_DRIVER: 'sqlite' | 'postgres' =
  process.env.FIELDHUB_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = TEST_DRIVER === 'postgres';

const created = new Set<string>();

/** The URL of the database of `dataDir` on the run's PostgreSQL server, created on first use. */
export function pgUrlFor(dataDir: string): string {
  const base = process.env.FIELDHUB_TEST_PG_URL;
  if (!base) throw new Error('no PostgreSQL server for this run (FIELDHUB_TEST_PG_URL)');
  const name = `t_${createHash('sha256').update(dataDir).digest('hex').slice(0, 24)}`;
  const url = new URL(base);
  if (!created.has(name)) {
    const env = { ...process.env, PGPASSWORD: decodeURIComponent(url.password) };
    const conn = ['-h', url.hostname, '-p', url.port, '-U', decodeURIComponent(url.username)];
    const exists = execFileSync(
      'psql',
      [...conn, '-d', 'fieldhub', '-At', '-c', `SELECT 1 FROM pg_database WHERE datname = '${name}'`],
      {
        env,
        encoding: 'utf8',
      },
    );
    if (exists.trim() !== '1') execFileSync('createdb', [...conn, name], { env, stdio: 'ignore' });
    created.add(name);
  }
  url.pathname = `/${name}`;
  return url.href;
}
