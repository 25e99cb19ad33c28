/**
 * The PostgreSQL store (src/core/pg.ts) against a real private PostgreSQL (test/helpers/postgres.ts):
 * migrations in one transaction, once across replicas, refusal of a newer schema; scheduled runs
 * claimed once per slot across replicas and taken over by the survivor; recovery after a database
 * restart; no secret in errors.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { StoreVersionError, type Migration } from '../../src/core/db.js';
import { classify, StoreUnavailableError } from '../../src/core/errors.js';
import { isUnavailable, PgStore, PgWriter } from '../../src/core/pg.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { Postgres, postgresUnavailable } from '../helpers/postgres.js';

const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL tests: ${skip}`);

let pg: Postgres;
let dbs = 0;
beforeAll(async () => {
  if (!skip) pg = await Postgres.start();
}, 120_000);
afterAll(() => pg?.stop());

/** a fresh database of its own, and a store on it closed when the test ends */
async function fresh(): Promise<{ url: string; open: () => Promise<PgStore> }> {
  const url = pg.createDb(`t${++dbs}`);
  const open = async () => {
    const s = await PgStore.open({ url, max: 4, connectionTimeoutMs: 2000 });
    onTestFinished(() => s.close());
    return s;
  };
  return { url, open };
}

async function until<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const WRITES_PG = new URL('../fixtures/test-module-writes-pg.ts', import.meta.url).href;

const M: Migration[] = [
  { version: 1, name: 'a', sql: 'CREATE TABLE m_a (id INT PRIMARY KEY)' },
  { version: 2, name: 'b', sql: 'CREATE TABLE m_b (id INT PRIMARY KEY); INSERT INTO m_b VALUES (1)' },
];

describe.skipIf(skip)('PostgreSQL store', () => {
  it("applies a module's pending migrations in one transaction, once across replicas starting together", async () => {
    const { open } = await fresh();
    const replicas = await Promise.all([open(), open(), open()]);
    const applied = await Promise.all(replicas.map((s) => s.migrate('mod', M)));
    expect(applied.flat().sort()).toEqual([1, 2]);
    const s = replicas[0];
    expect((await s.pool.query('SELECT version FROM schema_migrations WHERE module = $1', ['mod'])).rows).toEqual([
      { version: 2 },
    ]);
    // a failing migration leaves nothing of its batch and the version where it was
    const broken: Migration[] = [
      ...M,
      { version: 3, name: 'c', sql: 'CREATE TABLE m_c (id INT)' },
      { version: 4, name: 'd', sql: 'INSERT INTO no_such_table VALUES (1)' },
    ];
    await expect(s.migrate('mod', broken)).rejects.toThrow(/no_such_table/);
    expect((await s.pool.query("SELECT to_regclass('m_c') AS t")).rows).toEqual([{ t: null }]);
    expect((await s.pool.query('SELECT version FROM schema_migrations WHERE module = $1', ['mod'])).rows).toEqual([
      { version: 2 },
    ]);
  });

  it("lists a module's notifications newest first, after an id, at most the limit, as Store does", async () => {
    const { open } = await fresh();
    const s = await open();
    await s.notify('a', 'info', 'one');
    await s.notify('b', 'alert', 'not a');
    await s.notify('a', 'alert', 'two');
    const all = await s.listNotifications('a');
    expect(all.map((n) => [n.level, n.text])).toEqual([
      ['alert', 'two'],
      ['info', 'one'],
    ]);
    expect(typeof all[0]!.id).toBe('number');
    expect(new Date(all[0]!.time).toISOString()).toBe(all[0]!.time);
    expect((await s.listNotifications('a', { afterId: all[1]!.id })).map((n) => n.text)).toEqual(['two']);
    expect((await s.listNotifications('a', { limit: 1 })).map((n) => n.text)).toEqual(['two']);
  });

  it('refuses a database written by a newer fieldhub', async () => {
    const { url, open } = await fresh();
    const s = await open();
    await s.migrate('mod', M);
    await s.pool.query("UPDATE schema_migrations SET version = 9 WHERE module = 'mod'");
    await expect(s.migrate('mod', M)).rejects.toBeInstanceOf(StoreVersionError);
    await s.pool.query("UPDATE schema_migrations SET version = 9 WHERE module = 'core'");
    await expect(PgStore.open({ url })).rejects.toThrow(/core schema version 9, newer/);
  });

  it('runs each scheduled slot of a job once across replicas, and on the survivor when one stops', async () => {
    const { open } = await fresh();
    const stores = await Promise.all([open(), open()]);
    await stores[0].pool.query('CREATE TABLE runs (replica TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const schedulers = stores.map((store, i) => {
      const s = new Scheduler({ error: () => {} });
      s.setClaim((job, slot) => store.claimRun(job, slot, `r${i}`));
      s.register('every-second', () => store.pool.query('INSERT INTO runs (replica) VALUES ($1)', [`r${i}`]), {
        cron: '* * * * * *',
      });
      s.start();
      return s;
    });
    onTestFinished(() => Promise.all(schedulers.map((s) => s.stop())).then(() => undefined));
    const db = stores[0].pool;
    const count = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
    await until(async () => (await count('SELECT count(*)::int AS n FROM runs')) >= 4, 'four runs');
    // one replica dies: the other keeps claiming the following slots
    await schedulers[0]!.stop();
    const before = await count("SELECT count(*)::int AS n FROM job_runs WHERE replica = 'r1'");
    await until(
      async () => (await count("SELECT count(*)::int AS n FROM job_runs WHERE replica = 'r1'")) >= before + 3,
      'the survivor to run three more slots',
    );
    await schedulers[1]!.stop();
    // every claimed slot ran exactly once, on the replica that claimed it
    const claims = (
      await db.query<{ replica: string; n: number }>(
        'SELECT replica, count(*)::int AS n FROM job_runs GROUP BY replica ORDER BY replica',
      )
    ).rows;
    const runs = (
      await db.query<{ replica: string; n: number }>(
        'SELECT replica, count(*)::int AS n FROM runs GROUP BY replica ORDER BY replica',
      )
    ).rows;
    expect(runs).toEqual(claims);
    const slots = await count('SELECT count(DISTINCT slot)::int AS n FROM job_runs');
    expect(await count('SELECT count(*)::int AS n FROM runs')).toBe(slots);
  });

  it('a statement that runs past store.pool.statementTimeoutMs is unavailable (503 + Retry-After), not a 500', async () => {
    const { url } = await fresh();
    const s = await PgStore.open({ url, max: 2, statementTimeoutMs: 100 });
    onTestFinished(() => s.close());
    const err = await s.query('SELECT pg_sleep(2)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(classify(err)).toMatchObject({ statusCode: 503 });
    expect((await s.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('answers unavailable while PostgreSQL is down and recovers without reopening; no secret in errors', async () => {
    const { open } = await fresh();
    const s = await open();
    expect(await s.ping()).toBe(true);
    pg.stopServer();
    try {
      expect(await s.ping()).toBe(false);
      const err = await s.pool.query('SELECT 1').catch((e: unknown) => e);
      expect(isUnavailable(err)).toBe(true);
      expect(String((err as Error).message)).not.toContain(pg.password);
    } finally {
      pg.restartServer();
    }
    await until(() => s.ping(), 'the pool to reconnect');
    expect((await s.pool.query('SELECT 41 + 1 AS v')).rows).toEqual([{ v: 42 }]);
    const bad = await PgStore.open({ url: pg.url('fieldhub').replace(pg.password, 'wrong-password-x') }).catch(
      (e: unknown) => e as Error,
    );
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).not.toContain('wrong-password-x');
    expect(isUnavailable(bad)).toBe(false);
  });

  it('PgWriter: the same named writes as the writer thread, each committed before it resolves; 503 while down', async () => {
    const { open } = await fresh();
    const s = await open();
    await s.migrate('test', [
      { version: 1, name: 'echo', sql: 'CREATE TABLE echo_t (id SERIAL PRIMARY KEY, v TEXT NOT NULL)' },
    ]);
    const w = await PgWriter.load(s, [WRITES_PG]);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => w.run<number>('test.echo', { v: `v${i}` })));
    const rows = (await s.query<{ id: number; v: string }>('SELECT id, v FROM echo_t ORDER BY id')).rows;
    expect(rows.map((r) => r.v).sort()).toEqual(ids.map((_, i) => `v${i}`).sort());
    expect(new Set(ids.map((r) => r.value))).toEqual(new Set(rows.map((r) => r.id)));
    // a failing write rolls back alone, with its own properties
    await expect(w.run('test.echo', { v: 'refuse' })).rejects.toMatchObject({ statusCode: 409 });
    await expect(w.run('no.such')).rejects.toThrow(/no write named no.such/);
    expect((await s.query("SELECT count(*)::int AS n FROM echo_t WHERE v = 'refuse'")).rows).toEqual([{ n: 0 }]);
    pg.stopServer();
    let down: unknown;
    try {
      down = await w.run('test.echo', { v: 'during outage' }).catch((e: unknown) => e);
    } finally {
      pg.restartServer();
    }
    expect(down).toBeInstanceOf(StoreUnavailableError);
    expect(classify(down)).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5' } });
    await until(() => s.ping(), 'the pool to reconnect');
    expect((await w.run<number>('test.echo', { v: 'after' })).value).toBeGreaterThan(0);
    expect((await s.query("SELECT count(*)::int AS n FROM echo_t WHERE v = 'during outage'")).rows).toEqual([{ n: 0 }]);
  });
});
