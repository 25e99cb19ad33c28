import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { onTestFinished, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/db.js';
import { Writer } from '../../src/core/writer.js';
import { build, makeApp, tempDir } from '../helpers/app.js';
import { testModule } from '../fixtures/test-module.js';
import { onPostgres } from '../helpers/driver.js';

const WRITES = new URL('../fixtures/writer-writes.ts', import.meta.url).href;

/** A store on a fresh data dir and a writer thread on its file, both closed when the test ends. */
async function open() {
  const dir = tempDir('fieldhub-writer-');
  const store = new Store({ dataDir: dir });
  const writer = await Writer.start({ file: store.file, writes: [WRITES] });
  onTestFinished(async () => {
    await writer.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const count = () => (store.db.prepare('SELECT count(*) AS n FROM writer_test').get() as { n: number }).n;
  return { dir, store, writer, count };
}

describe('core writer thread', () => {
  it('group-commits concurrent writes; each is readable on the main connection once it resolves', async () => {
    const { store, writer, count } = await open();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => writer.run<number>('test.put', { k: `k${i}`, v: i })),
    );
    expect(count()).toBe(200);
    // groups are numbered in commit order and follow the order of submission
    const groups = results.map((r) => r.group);
    expect(groups).toEqual([...groups].sort((a, b) => a - b));
    expect(new Set(groups).size).toBeLessThan(200);
    // read-your-writes: the row of a resolved write is there for the next read
    const { value } = await writer.run<number>('test.put', { k: 'last', v: 1 });
    expect(store.db.prepare('SELECT k FROM writer_test WHERE rowid = ?').get(value)).toEqual({ k: 'last' });
  });

  it('rolls back a failing write alone and rejects only its caller, with its message and properties', async () => {
    const { store, writer } = await open();
    const [a, bad, c] = await Promise.allSettled([
      writer.run('test.put', { k: 'a', v: 1 }),
      writer.run('test.putThenFail', { k: 'b' }),
      writer.run('test.put', { k: 'c', v: 3 }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(c.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    const err = (bad as PromiseRejectedResult).reason as Error & { statusCode?: number };
    expect(err.message).toBe('refused b');
    expect(err.statusCode).toBe(409);
    expect(store.db.prepare('SELECT k FROM writer_test ORDER BY k').all()).toEqual([{ k: 'a' }, { k: 'c' }]);
    await expect(writer.run('test.nope')).rejects.toThrow(/no write named test\.nope/);
  });

  it('commits what was queued before close, then refuses new writes; the rows are in the file', async () => {
    const { dir, writer } = await open();
    const queued = Array.from({ length: 20 }, (_, i) => writer.run('test.batch', { prefix: `b${i}`, n: 50 }));
    const closing = writer.close();
    await Promise.all(queued);
    await closing;
    await expect(writer.run('test.put', { k: 'late', v: 0 })).rejects.toThrow(/closed/);
    const db = new Database(path.join(dir, 'fieldhub.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM writer_test').get()).toEqual({ n: 1000 });
    } finally {
      db.close();
    }
  });
});

describe('app.writer (a module declares its writes file)', () => {
  // the SQLite writer thread and its main connection (PgWriter's commits are tested in core/pg.test.ts)
  it.skipIf(onPostgres)(
    'answers after COMMIT: every acknowledged write is readable on the main connection and survives close',
    async () => {
      const dataDir = tempDir('fieldhub-app-writer-');
      onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
      const t = await makeApp({}, { modules: [testModule], dataDir });
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          t.app.inject({ method: 'POST', url: '/echo-writer', payload: { v: `v${i}` } }),
        ),
      );
      expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 200));
      const ids = answers.map((a) => a.json<{ id: number }>().id);
      const read = t.app.store.db.prepare('SELECT v FROM echo_t WHERE id = ?');
      ids.forEach((id, i) => expect(read.get(id)).toEqual({ v: `v${i}` }));
      // concurrent writes shared commits
      expect(new Set(answers.map((a) => a.json<{ group: number }>().group)).size).toBeLessThan(100);
      // a write that throws answers its own status and leaves no row; the others are unaffected
      const refused = await t.app.inject({ method: 'POST', url: '/echo-writer', payload: { v: 'refuse' } });
      expect(refused.statusCode).toBe(409);
      await t.close();
      const again = new Database(path.join(dataDir, 'fieldhub.sqlite'), { readonly: true });
      onTestFinished(() => {
        again.close();
      });
      expect(again.prepare("SELECT count(*) AS n, sum(v = 'refuse') AS r FROM echo_t").get()).toEqual({ n: 100, r: 0 });
    },
  );
});

describe('core writes on the writer thread', () => {
  it('the notification retention job deletes, in batches, only what is older than the kept days', async () => {
    const t = await build(
      { store: { notificationRetentionDays: 1 } },
      { modules: [testModule], startScheduler: false },
    );
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    if (t.app.pg) {
      await t.app.pg.query(
        "INSERT INTO notifications (created_at, module, level, text) SELECT $1, 'test', 'info', 'n' FROM generate_series(1, 12001)",
        [old],
      );
      await t.app.pg.notify('test', 'info', 'fresh');
    } else {
      const ins = t.app.store.db.prepare(
        "INSERT INTO notifications (created_at, module, level, text) VALUES (?, 'test', 'info', 'n')",
      );
      t.app.store.db.transaction(() => {
        for (let i = 0; i < 12_001; i++) ins.run(old);
      })();
      t.app.store.notify('test', 'info', 'fresh');
    }
    const r = await t.app.scheduler.run('core.notifications-retention');
    expect(r).toMatchObject({ ok: true, value: 12_001 });
    const left = t.app.pg ? await t.app.pg.listNotifications('test') : t.app.store.listNotifications('test');
    expect(left.map((n) => n.text)).toEqual(['fresh']);
  });
});
