/**
 * Two replicas on one PostgreSQL database (issue 17): two apps with the same explicit store, as two
 * fieldhub processes behind a load balancer. What one is sent, the other answers; users changed on
 * one are seen by the other at its next request; both making the same new months at once is safe.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, tempDir } from '../../helpers/app.js';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';
import { conduitApp, series } from './helpers.js';

describe.skipIf(!onPostgres)('conduit on two replicas of one PostgreSQL database (PostgreSQL run only)', () => {
  it('data sent to A is read on B, and the other way; users changed on A apply on B', async () => {
    const store = { driver: 'postgres', url: pgUrlFor(tempDir('fieldhub-replicas-')) };
    const a = await conduitApp({}, { store });
    const b = await conduitApp({}, { store });
    const tok = await a.user('alice', ['S']);
    const from = Date.UTC(2023, 4, 1) / 1000;
    expect((await a.ingest(tok, series('A1', 100, { from, chs: 2 }))).json()).toEqual({ code: '200', accepted: 100 });
    const range = `fcdt=${from}&tcdt=${from + 86400}`;
    const onB = await b.req({ token: tok, url: `/conduitv6?id=A1&${range}` });
    expect(onB.statusCode).toBe(200);
    expect(onB.json()).toHaveLength(100);
    expect(onB.json()[0]).toMatchObject({ dev_netid: 'A1', dev_chid: 1, val_date: from, val_raw: 0 });
    // an uplink on B reads back on A
    const up = await b.req({
      method: 'POST',
      token: tok,
      url: '/conduitv6/uplink',
      payload: { networkId: 'B7', timestamp: from * 1000, data: [{ channelId: 3, value: 1.5 }] },
    });
    expect(up.json()).toEqual({ code: '200', accepted: 1 });
    expect((await a.req({ token: tok, url: `/conduitv6?id=B7&${range}` })).json()).toEqual([
      expect.objectContaining({ dev_netid: 'B7', dev_chid: 3, val_raw: 1.5 }),
    ]);
    // the operator API of A disables alice: B refuses her at once
    const off = await a.app.inject({
      method: 'PATCH',
      url: '/admin/conduit/users/alice',
      headers: ADMIN,
      payload: { enabled: false },
    });
    expect(off.statusCode).toBe(200);
    expect((await b.req({ token: tok, url: `/conduitv6?id=A1&${range}` })).statusCode).toBe(403);
    expect((await b.app.inject({ url: '/admin/conduit/users', headers: ADMIN })).json()).toEqual([
      expect.objectContaining({ name: 'alice', enabled: false, sites: ['S'] }),
    ]);
  });

  it('both replicas ingesting new months at once: every batch stored, each month one partition', async () => {
    const store = { driver: 'postgres', url: pgUrlFor(tempDir('fieldhub-replicas-')) };
    const a = await conduitApp({}, { store });
    const b = await conduitApp({}, { store });
    const tok = await a.user('alice', ['S']);
    // 12 batches, each over 3 months (the same months from both replicas), and the same device from both
    const batch = (k: number) =>
      [0, 1, 2].flatMap((m) => series(`D${k % 3}`, 20, { from: Date.UTC(2022, (k % 4) + m, 3) / 1000 + k * 1200 }));
    const rs = await Promise.all(Array.from({ length: 12 }, (_, k) => (k % 2 ? b : a).ingest(tok, batch(k))));
    expect(rs.map((r) => r.statusCode)).toEqual(Array(12).fill(200));
    const parts = await a.sql<{ name: string }>(
      `SELECT k.relname AS name FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
        WHERE i.inhparent = 'conduit_datapoints'::regclass ORDER BY k.relname`,
    );
    expect(parts.map((p) => p.name)).toEqual([
      'conduit_datapoints_default',
      ...[1, 2, 3, 4, 5, 6].map((m) => `conduit_datapoints_p2022${String(m).padStart(2, '0')}`),
    ]);
    expect(await a.count()).toBe(12 * 60);
    expect(await b.one('SELECT COUNT(*) AS n FROM conduit_datapoints_default')).toEqual({ n: 0 });
    expect(await b.count('conduit_devices')).toBe(3);
  });
});
