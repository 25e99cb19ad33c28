/**
 * PgStore.listen (src/core/pg.ts) against a real private PostgreSQL: a NOTIFY committed after the
 * listen resolved reaches the callback (and one rolled back does not); after the server restarts the
 * listener reconnects by itself, calls onReconnect, and receives again; close() stops it.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PgStore } from '../../src/core/pg.js';
import { Postgres, postgresUnavailable } from '../helpers/postgres.js';

const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL tests: ${skip}`);

let pg: Postgres;
beforeAll(async () => {
  if (!skip) pg = await Postgres.start();
}, 120_000);
afterAll(() => pg?.stop());

async function until(fn: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skip)('PgStore.listen', () => {
  it('delivers committed notifications, reconnects after a server restart (onReconnect), stops on close', async () => {
    const url = pg.createDb('listen1');
    const s = await PgStore.open({ url, max: 2, connectionTimeoutMs: 2000, onError: () => undefined });
    onTestFinished(() => s.close());
    const got: string[] = [];
    let reconnects = 0;
    const l = await s.listen(
      'test_channel',
      (p) => got.push(p),
      () => reconnects++,
    );
    await s.tx(async (c) => {
      await c.query("SELECT pg_notify('test_channel', 'a')");
      await c.query("SELECT pg_notify('other_channel', 'x')");
    });
    await s
      .tx(async (c) => {
        await c.query("SELECT pg_notify('test_channel', 'rolled back')");
        throw new Error('abort');
      })
      .catch(() => undefined);
    await s.query("SELECT pg_notify('test_channel', 'b')");
    await until(() => got.length >= 2, 'two notifications');
    expect(got).toEqual(['a', 'b']);
    expect(reconnects).toBe(0);

    pg.stopServer();
    pg.restartServer();
    await until(() => reconnects === 1, 'the listener to reconnect');
    await until(async () => {
      await s.query("SELECT pg_notify('test_channel', 'c')").catch(() => undefined);
      return got.includes('c');
    }, 'a notification after the restart');
    expect(got.slice(0, 2)).toEqual(['a', 'b']);

    await l.close();
    const before = got.length;
    await s.query("SELECT pg_notify('test_channel', 'after close')");
    // a round trip on another connection after the NOTIFY's commit: a live listener would have had it by now
    await s.query('SELECT 1');
    expect(got.length).toBe(before);
    expect(got).not.toContain('after close');
  });

  it('refuses a channel name that is not a plain identifier', async () => {
    const url = pg.createDb('listen2');
    const s = await PgStore.open({ url, max: 1 });
    onTestFinished(() => s.close());
    await expect(
      s.listen(
        'bad; DROP TABLE x',
        () => undefined,
        () => undefined,
      ),
    ).rejects.toThrow(/bad channel/);
  });
});
