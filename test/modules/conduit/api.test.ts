import { describe, expect, it } from 'vitest';
import { SERIES_PLAN_MAX } from '../../../src/modules/conduit/query.js';
import { conduitApp, EXAMPLE, series, T0, type ConduitApp } from './helpers.js';

const { val_calibrated: _ignored, ...EXAMPLE_POST } = EXAMPLE;
const range = (f: number, t: number) => `fcdt=${f}&tcdt=${t}`;
const WIDE = range(0, 99_999_999_999);
const count = (app: ConduitApp) => app.count();

describe('conduit API: the spec example', () => {
  it('answers the example datapoint byte for byte (fields, order and values)', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['Minnovation']);
    const post = await c.ingest(tok, [EXAMPLE_POST]);
    expect(post.statusCode).toBe(200);
    expect(post.json()).toEqual({ code: '200', accepted: 1 });
    const r = await c.req({ url: `/conduitv6?id=70B3D54990DC01DA&ch=1&token=${tok}&${range(1614054000, 1614055000)}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.body).toBe(JSON.stringify([EXAMPLE]));
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  });

  it('takes the token from X-Api-Key, a Token header or the token argument, at /conduitv6 and /conduitv6/', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['Minnovation']);
    await c.ingest(tok, [EXAMPLE_POST]);
    const q = `id=70B3D54990DC01DA&${range(T0, T0)}`;
    for (const r of [
      await c.req({ url: `/conduitv6?${q}`, headers: { 'x-api-key': tok } }),
      await c.req({ url: `/conduitv6/?${q}`, headers: { token: tok } }),
      await c.req({ url: `/conduitv6/?${q}&token=${tok}` }),
    ]) {
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual([EXAMPLE]);
    }
  });
});

describe('conduit API: authentication', () => {
  it('no log line carries the token (header or query argument)', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.req({ url: `/conduitv6?token=${tok}&fcdt=1` });
    await c.req({ url: '/conduitv6', headers: { token: tok } });
    await c.ingest(tok, [{ dev_netid: 'A1', dev_chid: 1, val_date: 1, val_raw: 1 }]);
    await c.req({ url: `/conduitv6/nothing?token=${tok}` });
    expect(c.logs.lines.length).toBeGreaterThan(4);
    expect(c.logs.text).not.toContain(tok);
  });

  it('401 without or with an unknown token; 403 when disabled or the HTTP API is off', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const off = await c.user('bob', ['S'], { httpApi: false });
    expect((await c.req({})).statusCode).toBe(401);
    const none = await c.req({});
    expect(none.json()).toEqual({ code: '401', error: expect.stringMatching(/missing token/) });
    const unknown = await c.req({ token: 'x'.repeat(40) });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual({ code: '401', error: 'unknown token' });
    const offR = await c.req({ token: off });
    expect(offR.statusCode).toBe(403);
    expect(offR.json().code).toBe('403');
    await c.users.update('alice', { enabled: false });
    const dis = await c.req({ token: tok });
    expect(dis.statusCode).toBe(403);
    expect(dis.json()).toEqual({ code: '403', error: 'conduit is disabled for this user' });
    // no write passes either
    expect((await c.ingest(tok, series('AA', 1))).statusCode).toBe(403);
    expect(await count(c)).toBe(0);
  });
});

describe('conduit API: GET arguments', () => {
  it('id and ch filter, repeated or comma-separated, ids case-insensitive; no filter = all visible devices', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.ingest(tok, [
      ...series('A1', 6, { chs: 3 }),
      ...series('b2', 6, { chs: 3 }),
      ...series('C3', 6, { chs: 3 }),
    ]);
    const get = async (q: string) => {
      const r = await c.req({ token: tok, url: `/conduitv6?${q}&${WIDE}` });
      expect(r.statusCode, q).toBe(200);
      return r.json<Array<{ dev_netid: string; dev_chid: number }>>().map((p) => `${p.dev_netid}:${p.dev_chid}`);
    };
    expect(new Set(await get('id=a1&id=B2'))).toEqual(new Set(['A1:1', 'A1:2', 'A1:3', 'B2:1', 'B2:2', 'B2:3']));
    expect(new Set(await get('id=a1,B2'))).toEqual(new Set(await get('id=a1&id=B2')));
    expect(new Set(await get('id=A1&ch=1,3'))).toEqual(new Set(['A1:1', 'A1:3']));
    expect(new Set(await get('ch=2&ch=3'))).toEqual(new Set(['A1:2', 'A1:3', 'B2:2', 'B2:3', 'C3:2', 'C3:3']));
    expect(await get('x=1')).toHaveLength(18);
    expect(await get('id=A1&id=A1&ch=1')).toHaveLength(2);
  });

  it('orders by val_date, then device, then channel', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const pts = [];
    for (const id of ['FF', '0A', '7C'])
      for (const ch of [3, 1, 2])
        for (const d of [T0 + 60, T0, T0 + 30]) pts.push({ dev_netid: id, dev_chid: ch, val_date: d, val_raw: 1 });
    await c.ingest(tok, pts);
    for (const q of [WIDE, `id=FF,0A,7C&${WIDE}`]) {
      const got = (await c.req({ token: tok, url: `/conduitv6?${q}` })).json<
        Array<{
          val_date: number;
          dev_netid: string;
          dev_chid: number;
        }>
      >();
      const keys = got.map((p) => [p.val_date, p.dev_netid, p.dev_chid] as const);
      const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]) || a[2] - b[2]);
      expect(keys).toHaveLength(27);
      expect(keys).toEqual(sorted);
    }
  });

  it('fcdt/tcdt: inclusive; default the last hour; one alone, fcdt > tcdt or not seconds: 400', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const now = Math.floor(Date.now() / 1000);
    await c.ingest(tok, [
      { dev_netid: 'A1', dev_chid: 1, val_date: now - 60, val_raw: 1 },
      { dev_netid: 'A1', dev_chid: 1, val_date: now - 3700, val_raw: 2 },
      { dev_netid: 'A1', dev_chid: 1, val_date: T0, val_raw: 3 },
      { dev_netid: 'A1', dev_chid: 1, val_date: T0 + 10, val_raw: 4 },
    ]);
    const recent = await c.req({ token: tok });
    expect(recent.json().map((p: { val_raw: number }) => p.val_raw)).toEqual([1]);
    const exact = await c.req({ token: tok, url: `/conduitv6?${range(T0, T0 + 10)}` });
    expect(exact.json().map((p: { val_raw: number }) => p.val_raw)).toEqual([3, 4]);
    const one = await c.req({ token: tok, url: `/conduitv6?${range(T0 + 10, T0 + 10)}` });
    expect(one.json().map((p: { val_raw: number }) => p.val_raw)).toEqual([4]);
    for (const [q, msg] of [
      [`fcdt=${T0}`, 'fcdt and tcdt must be given together'],
      [`tcdt=${T0}`, 'fcdt and tcdt must be given together'],
      [range(T0 + 1, T0), 'fcdt is after tcdt'],
      [range(-5, T0), 'fcdt: expected unix seconds'],
      ['fcdt=2021-02-23&tcdt=1', 'fcdt: expected unix seconds'],
      [`${range(1, 2)}&fcdt=3`, 'fcdt: given more than once'],
      ['id=XYZ', 'id: "XYZ" is not a network id (hex)'],
      ['ch=one', 'ch: "one" is not a channel id'],
      ['ch=-1', 'ch: "-1" is not a channel id'],
    ] as const) {
      const r = await c.req({ token: tok, url: `/conduitv6?${q}` });
      expect(r.statusCode, q).toBe(400);
      expect(r.json(), q).toEqual({ code: '400', error: expect.stringContaining(msg) });
    }
  });

  it('no datapoints: 304 with no body (conduit.emptyStatus); 200 [] when configured', async () => {
    let c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const r = await c.req({ token: tok, headers: { 'accept-encoding': 'gzip' } });
    expect(r.statusCode).toBe(304);
    expect(r.body).toBe('');
    await c.close();
    c = await conduitApp({ emptyStatus: 200 });
    const tok2 = await c.user('alice', ['S']);
    const r2 = await c.req({ token: tok2 });
    expect(r2.statusCode).toBe(200);
    expect(r2.body).toBe('[]');
  });

  it('answers at most 10,000 datapoints: the first by time, with X-Conduit-Truncated and X-Conduit-Next-Fcdt', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    // 10,050 datapoints over two devices, newest first in the body, to show the order is the server's
    const pts = [...series('A1', 5025, { from: T0 }), ...series('B2', 5025, { from: T0 })].reverse();
    expect((await c.ingest(tok, pts)).json()).toEqual({ code: '200', accepted: 10050 });
    for (const q of [WIDE, `id=A1,B2&${WIDE}`]) {
      const r = await c.req({ token: tok, url: `/conduitv6?${q}` });
      expect(r.statusCode).toBe(200);
      const got = r.json<Array<{ val_date: number; dev_netid: string }>>();
      expect(got).toHaveLength(10000);
      expect(r.headers['x-conduit-truncated']).toBe('true');
      // 5000 minutes of both devices, the 5001st minute is where the next request starts
      expect(got[0]).toMatchObject({ val_date: T0, dev_netid: 'A1' });
      expect(got[9999]).toMatchObject({ val_date: T0 + 4999 * 60, dev_netid: 'B2' });
      expect(r.headers['x-conduit-next-fcdt']).toBe(String(T0 + 5000 * 60));
    }
    const rest = await c.req({ token: tok, url: `/conduitv6?${range(T0 + 5000 * 60, T0 + 10 ** 6)}` });
    expect(rest.json()).toHaveLength(50);
    expect(rest.headers['x-conduit-truncated']).toBeUndefined();
  });
});

describe('conduit API: the cap with ids (bounded sort)', () => {
  it(`a user who sees more than ${SERIES_PLAN_MAX} series is answered by time: same answer, same order, only its sites`, async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['North']);
    const other = await c.user('bob', ['South']);
    const ids = Array.from({ length: 150 }, (_, i) => `A${i.toString(16).padStart(3, '0')}`);
    const pts = ids.flatMap((id, i) => series(id, 80, { chs: 2, from: T0 + (i % 7) }));
    expect((await c.ingest(tok, pts)).json()).toEqual({ code: '200', accepted: 12_000 });
    expect((await c.ingest(other, series('B1', 500, { from: T0 }))).statusCode).toBe(200);
    const byTime = await c.req({ token: tok, url: `/conduitv6?${WIDE}` });
    const bySeries = await c.req({ token: tok, url: `/conduitv6?id=${ids.join(',')}&${WIDE}` });
    expect(byTime.json()).toHaveLength(10_000);
    expect(byTime.body).toBe(bySeries.body);
    expect(byTime.headers['x-conduit-next-fcdt']).toBe(bySeries.headers['x-conduit-next-fcdt']);
    expect(byTime.body).not.toContain('"B1"');
    const ch2 = await c.req({ token: tok, url: `/conduitv6?ch=2&${WIDE}` });
    expect(ch2.json()).toHaveLength(6000);
    expect(ch2.body).toBe((await c.req({ token: tok, url: `/conduitv6?ch=2&id=${ids.join(',')}&${WIDE}` })).body);
  });

  it('a dense and a sparse series: the first 10,000 by time, device, channel, and the right next fcdt', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const pts: Array<{ dev_netid: string; dev_chid: number; val_date: number; val_raw: number }> = [];
    for (let i = 0; i < 10_050; i++) pts.push({ dev_netid: 'BB', dev_chid: 1, val_date: T0 + i, val_raw: i });
    for (let i = 0; i < 300; i++)
      for (const ch of [1, 2]) pts.push({ dev_netid: 'AA', dev_chid: ch, val_date: T0 + 5 + i * 100, val_raw: -i });
    expect((await c.ingest(tok, pts)).statusCode).toBe(200);
    const key = (p: { val_date: number; dev_netid: string; dev_chid: number }) =>
      `${p.val_date}/${p.dev_netid}/${p.dev_chid}`;
    const sorted = [...pts].sort(
      (a, b) => a.val_date - b.val_date || a.dev_netid.localeCompare(b.dev_netid) || a.dev_chid - b.dev_chid,
    );
    for (const q of [`id=AA,BB&${WIDE}`, `id=BB,AA&ch=1,2&${WIDE}`, WIDE]) {
      const r = await c.req({ token: tok, url: `/conduitv6?${q}` });
      const got = r.json<Array<{ val_date: number; dev_netid: string; dev_chid: number }>>();
      expect(got.map(key), q).toEqual(sorted.slice(0, 10_000).map(key));
      expect(r.headers['x-conduit-truncated']).toBe('true');
      expect(r.headers['x-conduit-next-fcdt']).toBe(String(sorted[10_000]!.val_date));
    }
    const one = await c.req({ token: tok, url: `/conduitv6?id=BB&ch=1&${WIDE}` });
    expect(one.json()).toHaveLength(10_000);
    expect(one.headers['x-conduit-next-fcdt']).toBe(String(T0 + 10_000));
    const exact = await c.req({ token: tok, url: `/conduitv6?id=BB&fcdt=${T0 + 50}&tcdt=${T0 + 10_049}` });
    expect(exact.json()).toHaveLength(10_000);
    expect(exact.headers['x-conduit-truncated']).toBeUndefined();
  });
});

describe('conduit API: errors', () => {
  it('405 for other methods, 404 under /conduitv6, in {"code","error"}', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    for (const method of ['PATCH', 'OPTIONS'] as const) {
      const r = await c.req({
        token: tok,
        method,
        url: '/conduitv6/',
        payload: 'x',
        headers: { 'content-type': 'text/plain' },
      });
      expect(r.statusCode).toBe(405);
      expect(r.headers.allow).toBe('GET, POST, PUT, DELETE');
      expect(r.body).toBe('{"code":"405","error":"Method Not Allowed"}');
    }
    const nf = await c.req({ token: tok, url: '/conduitv6/devices?token=secret' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ code: '404', error: 'Route GET /conduitv6/devices not found' });
  });

  it('bodies: bad JSON 400, wrong or missing Content-Type 415, invalid datapoint 400 and nothing written', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const post = (payload: string, headers: Record<string, string>) =>
      c.req({ token: tok, method: 'POST', payload, headers });
    const badJson = await post('[{"dev_netid":', { 'content-type': 'application/json' });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json()).toEqual({ code: '400', error: expect.stringMatching(/^request body is not valid JSON/) });
    const csv = await post('a,b', { 'content-type': 'text/csv' });
    expect(csv.json()).toEqual({ code: '415', error: 'Content-Type text/csv is not supported: send application/json' });
    const none = await post('[]', {});
    expect(none.statusCode).toBe(415);
    expect(none.json().code).toBe('415');
    const empty = await post('', { 'content-type': 'application/json' });
    expect(empty.statusCode).toBe(400);
    const notArray = await post('{"dev_netid":"A1"}', { 'content-type': 'application/json' });
    expect(notArray.json()).toEqual({ code: '400', error: expect.stringMatching(/^body: .*expected array/) });
    for (const [p, msg] of [
      [{ dev_chid: 1, val_date: T0, val_raw: 1 }, 'body[1].dev_netid'],
      [{ dev_netid: 'A1', dev_chid: 1.5, val_date: T0, val_raw: 1 }, 'body[1].dev_chid'],
      [{ dev_netid: 'A1', dev_chid: 1, val_date: T0 * 1000, val_raw: 1 }, 'body[1].val_date: expected unix seconds'],
      [{ dev_netid: 'A1', dev_chid: 1, val_date: T0, val_raw: '4.1' }, 'body[1].val_raw'],
      [{ dev_netid: 'A1', dev_chid: 1, val_date: T0, val_raw: 1, colour: 'red' }, 'colour'],
    ] as const) {
      const r = await c.ingest(tok, [{ dev_netid: 'A1', dev_chid: 1, val_date: T0, val_raw: 1 }, p]);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ code: '400', error: expect.stringContaining(msg) });
    }
    expect(await count(c)).toBe(0);
    expect((await c.ingest(tok, [])).json()).toEqual({ code: '200', accepted: 0 });
  });

  it('500 in the conduit shape, without internals', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.ingest(tok, series('A1', 1));
    await c.sql('DROP TABLE conduit_channels');
    const r = await c.req({ token: tok, url: `/conduitv6?${WIDE}` });
    expect(r.statusCode).toBe(500);
    expect(r.body).toBe('{"code":"500","error":"Internal Server Error"}');
  });
});
