/**
 * store.driver "postgres" at the app level (issue 17), against a real private PostgreSQL: the app
 * migrates there, its writer commits there, /readyz follows the database, an outage answers 503 +
 * Retry-After (never 500) and the same app recovers after the restart; the config refuses a
 * postgres driver without a URL, or with an enabled module that cannot run there; the URL never
 * reaches the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
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
});
