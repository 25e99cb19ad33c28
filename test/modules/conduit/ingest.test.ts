import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PRUNE_BATCH } from '../../../src/modules/conduit/retention.js';
import { ADMIN } from '../../helpers/app.js';
import { conduitApp, series, T0 } from './helpers.js';

describe('conduit ingest and query at volume', () => {
  it('ingests 100,000 datapoints in gzip batches over a real socket and answers queries over them', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const url = await c.listen();
    // 20 devices x 5 channels x 1000 minutes
    const devices = Array.from(
      { length: 20 },
      (_, i) => `70B3D549900000${i.toString(16).padStart(2, '0').toUpperCase()}`,
    );
    let accepted = 0;
    for (let minute = 0; minute < 1000; minute += 100) {
      const batch = [];
      for (let m = minute; m < minute + 100; m++) {
        for (const d of devices)
          for (let ch = 1; ch <= 5; ch++)
            batch.push({ dev_netid: d, dev_chid: ch, val_date: T0 + m * 60, val_raw: m + ch / 10 });
      }
      const r = await fetch(`${url}/conduitv6`, {
        method: 'POST',
        headers: { 'x-api-key': tok, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(batch)),
      });
      expect(r.status).toBe(200);
      accepted += ((await r.json()) as { accepted: number }).accepted;
    }
    expect(accepted).toBe(100_000);
    expect({ n: await c.count('conduit_datapoints') }).toEqual({ n: 100_000 });
    const get = async (q: string) => {
      const r = await fetch(`${url}/conduitv6?${q}`, { headers: { 'x-api-key': tok, 'accept-encoding': 'gzip' } });
      return {
        status: r.status,
        truncated: r.headers.get('x-conduit-truncated'),
        body:
          r.status === 200
            ? ((await r.json()) as Array<{ val_date: number; dev_netid: string; dev_chid: number; val_raw: number }>)
            : [],
      };
    };
    const all = await get(`fcdt=0&tcdt=${T0 + 10 ** 6}`);
    expect(all.body).toHaveLength(10_000);
    expect(all.truncated).toBe('true');
    expect(all.body[9999]).toMatchObject({ val_date: T0 + 99 * 60, dev_netid: devices[19], dev_chid: 5 });
    const one = await get(`id=${devices[7]!.toLowerCase()}&ch=3&fcdt=${T0 + 500 * 60}&tcdt=${T0 + 599 * 60}`);
    expect(one.body).toHaveLength(100);
    expect(one.body.map((p) => p.val_raw)).toEqual(Array.from({ length: 100 }, (_, i) => 500 + i + 0.3));
    expect(one.truncated).toBeNull();
    const slice = await get(`ch=1,2&fcdt=${T0 + 10 * 60}&tcdt=${T0 + 19 * 60}`);
    expect(slice.body).toHaveLength(10 * 20 * 2);
  });
});

describe('conduit retention', () => {
  it('prunes datapoints older than conduit.retentionDays in batches (job run from the admin API)', async () => {
    const c = await conduitApp({ retentionDays: 30 });
    const tok = await c.user('alice', ['S']);
    const now = Math.floor(Date.now() / 1000);
    const old = series('A1', PRUNE_BATCH * 2 + 7, { from: now - 40 * 86400, chs: 3 }).map((p, i) => ({
      ...p,
      val_date: now - 40 * 86400 + Math.floor(i / 3),
    }));
    const fresh = series('A1', 30, { from: now - 29 * 86400, chs: 3 });
    expect((await c.ingest(tok, [...old, ...fresh])).statusCode).toBe(200);
    expect(c.app.scheduler.list().find((j) => j.name === 'conduit.retention')).toMatchObject({ cron: '17 * * * *' });
    const r = await c.app.inject({ method: 'POST', url: '/admin/conduit/retention/run', headers: ADMIN });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, value: { deleted: PRUNE_BATCH * 2 + 7 } });
    const left = (await c.one('SELECT MIN(val_date) AS min, COUNT(*) AS n FROM conduit_datapoints')) as {
      min: number;
      n: number;
    };
    expect(left).toEqual({ n: 30, min: now - 29 * 86400 });
  });

  it('does nothing when retention is off (the default)', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.ingest(tok, series('A1', 5, { from: 1000 }));
    const r = await c.app.inject({ method: 'POST', url: '/admin/conduit/retention/run', headers: ADMIN });
    expect(r.json()).toMatchObject({ ok: true, value: { deleted: 0 } });
    expect(c.app.scheduler.list().find((j) => j.name === 'conduit.retention')?.cron).toBeUndefined();
    expect({ n: await c.count('conduit_datapoints') }).toEqual({ n: 5 });
  });
});
