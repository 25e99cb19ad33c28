/**
 * `fieldhub store migrate-to-postgres` of a sync hub (issue 17): the SQLite tables and the payload
 * files under log/plugins into PostgreSQL, verified, re-runnable; the PostgreSQL hub then serves the
 * same devices, processes the payload SQLite left `received`, and numbers the next payload on. Needs
 * the PostgreSQL server of the vitest.pg.config.ts run.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStores } from '../../../src/app.js';
import { migrateToPostgres } from '../../../src/core/migrate-pg.js';
import { encryptData } from '../../../src/modules/sync/crypto.js';
import sync from '../../../src/modules/sync/index.js';
import { closesItself, makeApp, tempDir, testConfig, type TestApp } from '../../helpers/app.js';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';
import { AUTH, device, files, form, processNow, TOKEN } from './helpers.js';

const KEY = 'migrate key';

async function post(t: TestApp, data: string, node: string) {
  const r = await t.app.inject({ method: 'POST', url: '/sync', ...form({ data, node_name: node, plugin: 'SYNC' }) });
  expect(r.statusCode, r.body).toBe(200);
}

const devicesOf = async (t: TestApp) =>
  (await t.app.inject({ url: '/sync/devices?limit=1000', headers: AUTH })).json().devices as unknown[];

describe.skipIf(!onPostgres)('sync: migrate-to-postgres', () => {
  it('copies tables and payload files, verified twice; the PostgreSQL hub goes on where SQLite stopped', async () => {
    const sqliteCfg = { store: { driver: 'sqlite' }, sync: { apiToken: TOKEN, encryptionKey: KEY } };
    const lite = closesItself(await makeApp(sqliteCfg, { modules: [sync], startScheduler: false }));
    const dataDir = lite.config.dataDir;
    await post(lite, encryptData(JSON.stringify({ data: [device(1), device(2)] }), KEY), 'A');
    await post(lite, 'not encrypted', 'B');
    await processNow(lite);
    const before = await devicesOf(lite);
    // a payload stored but not processed yet when SQLite stopped
    lite.app.store.db.prepare("INSERT INTO sync_sequences VALUES ('SYNC', 'C', 1)").run();
    lite.app.store.db
      .prepare(
        "INSERT INTO sync_received (plugin, node, seq, source, received_at, bytes, status) VALUES ('SYNC', 'C', 1, 'post', ?, 10, 'received')",
      )
      .run(new Date().toISOString());
    await lite.app.close();
    mkdirSync(path.join(dataDir, 'log', 'plugins'), { recursive: true });
    writeFileSync(
      path.join(dataDir, 'log', 'plugins', 'last_result.SYNC.encoded.C.1.log'),
      encryptData(JSON.stringify({ data: [device(3)] }), KEY),
    );

    const named = tempDir('fieldhub-migrate-'); // names the target database only
    onTestFinished(() => rmSync(named, { recursive: true, force: true }));
    const url = pgUrlFor(named);
    const source = await openStores(testConfig(sqliteCfg, dataDir), [sync]);
    const target = await openStores(testConfig({ store: { driver: 'postgres', url } }), [sync]);
    try {
      for (let run = 0; run < 2; run++) {
        const r = await migrateToPostgres(source.store!, target.pg!, [sync], dataDir);
        expect(r.tables.filter((x) => !x.ok)).toEqual([]);
        expect(r.files).toEqual([{ module: 'sync', files: 3, ok: true }]);
        expect(r.ok).toBe(true);
      }
    } finally {
      await source.close();
      await target.close();
    }

    const pgHub = closesItself(
      await makeApp(
        { store: { driver: 'postgres', url }, sync: { apiToken: TOKEN, encryptionKey: KEY } },
        { modules: [sync], startScheduler: false },
      ),
    );
    await processNow(pgHub);
    expect(await files(pgHub)).toEqual([
      'failed_last_result.SYNC.encoded.B.1.log',
      'processed_last_result.SYNC.A.1.log',
      'processed_last_result.SYNC.C.1.log',
    ]);
    const after = await devicesOf(pgHub);
    expect(after.slice(0, 2)).toEqual(before);
    expect(after).toHaveLength(3);
    await post(pgHub, encryptData(JSON.stringify({ data: [device(4)] }), KEY), 'A');
    await processNow(pgHub);
    expect(await files(pgHub)).toContain('processed_last_result.SYNC.A.2.log');
    const texts = (await pgHub.app.pg!.listNotifications('sync', { limit: 1000 })).map((n) => n.text);
    expect(texts.filter((x) => x.startsWith('[Plugin: SYNC] Data received'))).toHaveLength(3);
  });
});
