/**
 * A SQLite push store copied into PostgreSQL (`fieldhub store migrate-to-postgres`, core
 * migrate-pg.ts) goes on serving there: the queue order, the command in flight (push_queue is a
 * PostgreSQL-only table the copy leaves empty: a device without its row is locked by inserting it),
 * and new commands numbered after the copied ones. Only in the PostgreSQL run.
 */
import { describe, expect, it } from 'vitest';
import { openStores } from '../../../src/app.js';
import { migrateToPostgres } from '../../../src/core/migrate-pg.js';
import pushModule from '../../../src/modules/push/index.js';
import { build, tempDir, testConfig } from '../../helpers/app.js';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';
import { command, enqueueOk, rows } from './helpers.js';
import { SimDevice } from './sim.js';

describe.skipIf(!onPostgres)('push copied from SQLite into PostgreSQL', () => {
  it('keeps queue order and the command in flight; new commands follow the copied ones', async () => {
    const dataDir = tempDir();
    const lite = await build({ store: { driver: 'sqlite' }, push: { resultTimeoutSeconds: 60 } }, { dataDir });
    await lite.listen();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await enqueueOk(lite.url, '5', { endpoint: `e${i}` }));
    const done = await enqueueOk(lite.url, '6', { endpoint: 'done' });
    expect((await new SimDevice(lite.url, '6').step())?.uuid).toBe(done);
    expect((await new SimDevice(lite.url, '5').poll()).command?.uuid).toBe(ids[0]); // in flight
    await lite.app.close();

    const url = pgUrlFor(tempDir());
    const source = await openStores(testConfig({ store: { driver: 'sqlite' } }, dataDir), [pushModule]);
    const target = await openStores(testConfig({ store: { driver: 'postgres', url } }), [pushModule]);
    try {
      const report = await migrateToPostgres(source.store!, target.pg!, [pushModule], dataDir);
      expect(report.ok).toBe(true);
      expect(report.tables.find((t) => t.table === 'push_commands')).toMatchObject({ sqliteRows: 4, pgRows: 4 });
    } finally {
      await source.close();
      await target.close();
    }

    const t = await build({ store: { driver: 'postgres', url }, push: { resultTimeoutSeconds: 60 } });
    await t.listen();
    const dev = new SimDevice(t.url, '5');
    expect((await dev.poll()).text).toBe(''); // e0 is still in flight within its timeout
    expect((await dev.result('{"response":"after the copy"}')).status).toBe(200);
    expect(await command(t.url, ids[0]!)).toMatchObject({ status: 'done', response: 'after the copy', attempts: 1 });
    const next = await enqueueOk(t.url, '5', { endpoint: 'e3' });
    const seen: string[] = [];
    for (let c = await dev.step(); c; c = await dev.step()) seen.push(c.uuid);
    expect(seen).toEqual([ids[1], ids[2], next]);
    const seqs = await rows(t.app, "SELECT id, seq FROM push_commands WHERE device_id = '5' ORDER BY seq");
    expect(seqs.map((r) => r.id)).toEqual([...ids, next]);
    expect(seqs[3]!.seq).toBeGreaterThan(4);
    expect(await command(t.url, done)).toMatchObject({ status: 'done' });
  });
});
