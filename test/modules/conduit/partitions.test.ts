/**
 * Retention across months, on both drivers: the same answers (datapoints deleted, what is left). On
 * PostgreSQL the datapoints are in monthly partitions (migrations-pg.ts, partitions.ts): rows of three
 * months land in three partitions, retention drops the month entirely older than its cutoff and
 * deletes the older rows of the month it cuts through.
 */
import { describe, expect, it } from 'vitest';
import { monthOf, monthsOf, Partitions } from '../../../src/modules/conduit/partitions.js';
import { ADMIN } from '../../helpers/app.js';
import { onPostgres } from '../../helpers/driver.js';
import { conduitApp, type ConduitApp } from './helpers.js';

const DAY = 86400;

/** the month partitions of conduit_datapoints with their rows (DEFAULT apart) */
async function partitions(c: ConduitApp): Promise<Record<string, number>> {
  const names = await c.sql<{ name: string }>(
    `SELECT k.relname AS name FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
      WHERE i.inhparent = 'conduit_datapoints'::regclass ORDER BY k.relname`,
  );
  const out: Record<string, number> = {};
  for (const { name } of names) out[name] = (await c.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${name}`))!.n;
  return out;
}

describe('conduit months', () => {
  it('monthOf: UTC months, [first second, first second of the next)', () => {
    expect(monthOf(Date.UTC(2024, 1, 29, 23, 59, 59) / 1000)).toEqual({
      name: 'conduit_datapoints_p202402',
      from: Date.UTC(2024, 1, 1) / 1000,
      to: Date.UTC(2024, 2, 1) / 1000,
    });
    expect(monthOf(Date.UTC(2024, 11, 31, 23, 59, 59) / 1000).to).toBe(Date.UTC(2025, 0, 1) / 1000);
    expect(monthOf(0).name).toBe('conduit_datapoints_p197001');
    const feb = Date.UTC(2024, 1, 1) / 1000;
    expect(monthsOf([feb, feb - 1, feb + 5, feb - 2]).map((m) => m.name)).toEqual([
      'conduit_datapoints_p202401',
      'conduit_datapoints_p202402',
    ]);
  });

  it('retention over three months: the same answer on both drivers; on PostgreSQL whole old months are dropped', async () => {
    // the cutoff: the 15th (00:00 UTC) of the month two months ago; data in the month before it, its month and the next
    const d = new Date();
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth() - 2;
    const cutoff = Date.UTC(y, m, 15) / 1000;
    const nowS = Date.now() / 1000;
    const c = await conduitApp({ retentionDays: (nowS - cutoff) / DAY });
    const tok = await c.user('alice', ['S']);
    const days = (month: number) => {
      const from = Date.UTC(y, month, 1) / 1000;
      const to = Date.UTC(y, month + 1, 1) / 1000;
      const out: number[] = [];
      for (let t = from + 3600; t < to; t += DAY) out.push(t);
      return out;
    };
    const [before, during, after] = [days(m - 1), days(m), days(m + 1)];
    const points = [...before, ...during, ...after].map((t, i) => ({
      dev_netid: 'A1',
      dev_chid: 1 + (i % 2),
      val_date: t,
      val_raw: i,
    }));
    expect((await c.ingest(tok, points)).json()).toEqual({ code: '200', accepted: points.length });
    const names = monthsOf([before[0]!, during[0]!, after[0]!]).map((x) => x.name);
    if (onPostgres) {
      expect(await partitions(c)).toEqual({
        conduit_datapoints_default: 0,
        [names[0]!]: before.length,
        [names[1]!]: during.length,
        [names[2]!]: after.length,
      });
    }

    const r = await c.app.inject({ method: 'POST', url: '/admin/conduit/retention/run', headers: ADMIN });
    const older = during.filter((t) => t < cutoff).length;
    expect(older).toBe(14);
    expect(r.json()).toMatchObject({ ok: true, value: { deleted: before.length + older } });
    expect(await c.one('SELECT MIN(val_date) AS min, COUNT(*) AS n FROM conduit_datapoints')).toEqual({
      min: cutoff + 3600,
      n: during.length - older + after.length,
    });
    if (onPostgres) {
      expect(await partitions(c)).toEqual({
        conduit_datapoints_default: 0,
        [names[1]!]: during.length - older,
        [names[2]!]: after.length,
      });
    }
    // a second run finds nothing; old data sent again is stored (its month made again) and pruned again
    expect(
      (await c.app.inject({ method: 'POST', url: '/admin/conduit/retention/run', headers: ADMIN })).json(),
    ).toMatchObject({ value: { deleted: 0 } });
    expect((await c.ingest(tok, points.slice(0, 3))).statusCode).toBe(200);
    expect(
      (await c.app.inject({ method: 'POST', url: '/admin/conduit/retention/run', headers: ADMIN })).json(),
    ).toMatchObject({ value: { deleted: 3 } });
  });

  it.skipIf(!onPostgres)(
    'PostgreSQL: a row whose month has no partition lands in DEFAULT, and moves when its month is made',
    async () => {
      const c = await conduitApp();
      const tok = await c.user('alice', ['S']);
      const jan = Date.UTC(2020, 0, 10) / 1000;
      // as `fieldhub store migrate-to-postgres` copies: straight into the parent, no partition made
      await c.sql('INSERT INTO conduit_devices (id, netid, site_id) SELECT 100, ?, id FROM conduit_sites', ['B1']);
      await c.sql(
        'INSERT INTO conduit_datapoints (device_id, chid, val_date, val_raw) VALUES (100, 1, ?, 1), (100, 1, ?, 2)',
        [jan, jan + 60],
      );
      expect(await partitions(c)).toEqual({ conduit_datapoints_default: 2 });
      // an ingest of that month makes its partition and moves the rows there; the re-sent one is replaced
      expect((await c.ingest(tok, [{ dev_netid: 'B1', dev_chid: 1, val_date: jan, val_raw: 9 }])).statusCode).toBe(200);
      expect(await partitions(c)).toEqual({ conduit_datapoints_default: 0, conduit_datapoints_p202001: 2 });
      expect(await c.sql('SELECT val_date, val_raw FROM conduit_datapoints ORDER BY val_date')).toEqual([
        { val_date: jan, val_raw: 9 },
        { val_date: jan + 60, val_raw: 2 },
      ]);
    },
  );

  it.skipIf(!onPostgres)(
    'PostgreSQL: an insert sent to DEFAULT while its month is attached by another transaction is retried, not failed',
    async () => {
      const c = await conduitApp();
      const tok = await c.user('alice', ['S']);
      const mar = Date.UTC(2021, 2, 5) / 1000;
      // the first ingest makes March, the second sees it committed and remembers it
      for (const v of [1, 2])
        expect((await c.ingest(tok, [{ dev_netid: 'A1', dev_chid: 1, val_date: mar, val_raw: v }])).statusCode).toBe(
          200,
        );
      // another replica's retention dropped March: this replica still believes it exists
      await c.sql('DROP TABLE conduit_datapoints_p202103');
      // another transaction makes March again and holds its COMMIT while this replica ingests March
      const other = await c.app.pg!.pool.connect();
      try {
        await other.query('BEGIN');
        await new Partitions().ensure(other, [mar]);
        const sent = c.ingest(tok, [{ dev_netid: 'A1', dev_chid: 1, val_date: mar + 60, val_raw: 2 }]);
        // the ingest waits on the lock of DEFAULT, where its row was routed
        for (let i = 0; ; i++) {
          const w = await c.one<{ n: number }>(
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO conduit_datapoints%'",
          );
          if (w!.n > 0) break;
          if (i > 2000) throw new Error('the ingest never waited');
          await new Promise((r) => setTimeout(r, 5));
        }
        await other.query('COMMIT');
        expect((await sent).json()).toEqual({ code: '200', accepted: 1 });
      } finally {
        other.release();
      }
      expect(await partitions(c)).toEqual({ conduit_datapoints_default: 0, conduit_datapoints_p202103: 1 });
    },
  );
});
