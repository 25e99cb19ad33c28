/**
 * store.driver "postgres" at the app level (issue 17), against a real private PostgreSQL: the app
 * migrates there, its writer commits there, /readyz follows the database, an outage answers 503 +
 * Retry-After (never 500) and the same app recovers after the restart; the config refuses a
 * postgres driver without a URL, or with an enabled module that cannot run there; the URL never
 * reaches the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, openStores } from '../../src/app.js';
import { migrateToPostgres, normalise } from '../../src/core/migrate-pg.js';
import { testModule } from '../fixtures/test-module.js';
import { build, testConfig } from '../helpers/app.js';
import { Postgres, postgresUnavailable } from '../helpers/postgres.js';
import pushModule from '../../src/modules/push/index.js';

const skip = postgresUnavailable();
let pg: Postgres;
let dbs = 0;
beforeAll(async () => {
  if (!skip) pg = await Postgres.start();
}, 120_000);
afterAll(() => pg?.stop());

const onPg = () => ({
  store: { driver: 'postgres', url: pg.createDb(`d${++dbs}`), pool: { connectionTimeoutMs: 1000 } },
});

describe.skipIf(skip)('store.driver "postgres"', () => {
  it('migrates and writes there; /readyz and the writes follow an outage and recover without a restart', async () => {
    const t = await build(onPg(), { modules: [testModule] });
    expect(t.app.pg).not.toBeNull();
    expect(() => t.app.store).toThrow(/store.driver is "postgres"/);
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    const w = await t.app.inject({ method: 'POST', url: '/echo-writer', payload: { v: 'one' } });
    expect(w.statusCode).toBe(200);
    const dbName = new URL(t.config.store.url!).pathname.slice(1);
    expect(pg.psql('SELECT v FROM echo_t', dbName).trim()).toBe('one');

    pg.stopServer();
    try {
      const down = await t.app.inject({ url: '/readyz' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ status: 'not ready', store: false });
      const refused = await t.app.inject({ method: 'POST', url: '/echo-writer', payload: { v: 'two' } });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
    } finally {
      pg.restartServer();
    }
    let back = 0;
    for (let i = 0; i < 100 && back !== 200; i++) {
      back = (await t.app.inject({ url: '/readyz' })).statusCode;
      if (back !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe(200);
    const again = await t.app.inject({ method: 'POST', url: '/echo-writer', payload: { v: 'three' } });
    expect(again.statusCode).toBe(200);
    expect(pg.psql("SELECT string_agg(v, ',' ORDER BY id) FROM echo_t", dbName).trim()).toBe('one,three');
    expect(t.logs.text).not.toContain(pg.password);
  });

  it('refuses a postgres driver without a URL, and an enabled module that has no PostgreSQL migrations', async () => {
    expect(() => testConfig({ store: { driver: 'postgres' } })).toThrow(/store.url/);
    const config = testConfig(onPg());
    const noPg = { ...pushModule, migrationsPg: undefined };
    await expect(buildApp(config, { modules: [noPg] })).rejects.toThrow(/not available for push/);
  });

  it('migrate-to-postgres copies a SQLite store, verified by counts and checksums, re-runnable, ids continue after it', async () => {
    const lite = await build({ store: { driver: 'sqlite' } }, { modules: [testModule] });
    for (const v of ['a', 'b', 'c\'"\u00e9'])
      await lite.app.inject({ method: 'POST', url: '/echo-writer', payload: { v } });
    lite.app.store.notify('push', 'alert', 'copied with its time');
    const source = await openStores(lite.config, [testModule]);
    const target = await openStores(testConfig(onPg()), [testModule]);
    try {
      const first = await migrateToPostgres(source.store!, target.pg!, [testModule], lite.config.dataDir);
      expect(first.ok).toBe(true);
      expect(first.tables.find((t) => t.table === 'echo_t')).toMatchObject({ sqliteRows: 3, pgRows: 3, ok: true });
      expect(first.tables.find((t) => t.table === 'notifications')).toMatchObject({
        sqliteRows: 1,
        pgRows: 1,
        ok: true,
      });
      const again = await migrateToPostgres(source.store!, target.pg!, [testModule], lite.config.dataDir);
      expect(again.ok).toBe(true);
      expect(again.tables.find((t) => t.table === 'echo_t')).toMatchObject({ pgRows: 3 });
      // the serial counter moved past the copied ids
      const next = await target.pg!.query<{ id: number }>("INSERT INTO echo_t (v) VALUES ('d') RETURNING id");
      expect(next.rows[0]!.id).toBe(4);
      const rows = await target.pg!.query<{ v: string }>('SELECT v FROM echo_t ORDER BY id');
      expect(rows.rows.map((r) => r.v)).toEqual(['a', 'b', 'c\'"\u00e9', 'd']);
      // a row that differs is reported: the extra row makes the next verification fail
      const diff = await migrateToPostgres(source.store!, target.pg!, [testModule], lite.config.dataDir);
      expect(diff.ok).toBe(false);
      expect(diff.tables.find((t) => t.table === 'echo_t')).toMatchObject({ sqliteRows: 3, pgRows: 4, ok: false });
    } finally {
      await source.close();
      await target.close();
    }
  });

  it('the checksum normalises values by PostgreSQL type, so both dialects of one value agree', () => {
    expect(normalise('2026-12-03T10:00:00.000Z', 'timestamp with time zone')).toBe(
      normalise(new Date('2026-12-03T10:00:00Z'), 'timestamp with time zone'),
    );
    expect(normalise(1, 'boolean')).toBe(normalise(true, 'boolean'));
    expect(normalise(0, 'boolean')).not.toBe(normalise(true, 'boolean'));
    expect(normalise('{"b":1,"a":[2]}', 'jsonb')).toBe(normalise({ a: [2], b: 1 }, 'jsonb'));
    expect(normalise(42, 'bigint')).toBe(normalise('42', 'bigint'));
    expect(normalise(null, 'text')).not.toBe(normalise('', 'text'));
  });

  it('console sessions live in the database: signed in on one replica, known on the other, signed out on both', async () => {
    const store = onPg().store;
    const a = await build({ store }, { modules: [testModule] });
    const b = await build({ store }, { modules: [testModule] });
    const signIn = await a.app.inject({
      method: 'POST',
      url: '/console/login',
      payload: { token: 'admin-secret-token' },
    });
    expect(signIn.statusCode).toBe(200);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const { csrf } = signIn.json<{ csrf: string }>();
    const onB = await b.app.inject({ url: '/console/session', headers: { cookie } });
    expect(onB.statusCode).toBe(200);
    expect(onB.json()).toMatchObject({ csrf });
    // only a hash of the session id is stored
    const dbName = new URL(store.url).pathname.slice(1);
    const cookieId = decodeURIComponent(cookie.split('=')[1]!).split('.')[0]!;
    expect(pg.psql('SELECT id_hash FROM console_sessions', dbName)).not.toContain(cookieId);
    const out = await b.app.inject({
      method: 'POST',
      url: '/console/logout',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(out.statusCode).toBe(200);
    expect((await a.app.inject({ url: '/console/session', headers: { cookie } })).statusCode).toBe(401);
  });
});
