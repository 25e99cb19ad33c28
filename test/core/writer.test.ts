import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { onTestFinished, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/db.js';
import { Writer } from '../../src/core/writer.js';
import { tempDir } from '../helpers/app.js';

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
