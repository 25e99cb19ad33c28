/** AlphaX senders: V1/V2 uplinks from a simulator (real HTTP client over a socket), read back through GET /conduitv6. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { conduitApp, T0, type ConduitApp } from './helpers.js';

const count = (app: ConduitApp) => app.count();
const netid = (d: number) => `70B3D5499${d.toString(16).padStart(7, '0').toUpperCase()}`;
const le = (v: number, n: number) => {
  const b = Buffer.alloc(n);
  if (n === 2) b.writeUInt16LE(v);
  else b.writeInt32LE(v);
  return b;
};
const v1hex = (d: number, chs: number[]) =>
  Buffer.concat([le(3000 + d, 2), le(1, 2), le(d, 2), le(0, 2), ...chs.map((v) => le(v, 4))]).toString('hex');

/** The sender simulator: one real HTTP POST per uplink, plain or gzip, token in the body or a header. */
async function send(url: string, body: unknown, o: { gzip?: boolean; token?: string; path?: string } = {}) {
  const json = JSON.stringify(body);
  const r = await fetch(`${url}${o.path ?? '/conduitv6'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(o.gzip ? { 'content-encoding': 'gzip' } : {}),
      ...(o.token ? { 'x-api-key': o.token } : {}),
    },
    body: o.gzip ? gzipSync(json) : json,
  });
  return { status: r.status, body: (await r.json()) as { code: string; error?: string; accepted?: number } };
}

/** The V4 webhook as a sender posts it: a real HTTP POST with an empty body. */
async function webhook(url: string, query: string) {
  const r = await fetch(`${url}/conduitv4/post?${query}`, { method: 'POST' });
  return { status: r.status, body: (await r.json()) as { code: string; error?: string; accepted?: number } };
}

describe('conduit uplinks (AlphaX Uplink Data Format V1 and V2)', () => {
  it('200 devices send V1 and V2 (gzip and plain) and V4; every value reads back with its device, channel, second and value', async () => {
    let now = T0 * 1000; // the V4 value form is timestamped on receipt: by this clock
    const c = await conduitApp({}, { now: () => now });
    const tok = await c.user('gw', ['Field']);
    const url = await c.listen();
    const expected = new Map<string, number>();
    const ms = T0 * 1000;
    for (let d = 0; d < 200; d++) {
      const id = netid(d);
      const gzip = d % 2 === 0;
      const path = d % 3 === 0 ? '/conduitv6/uplink' : '/conduitv6';
      if (d % 4 < 2) {
        const data = [
          { channelId: 1, value: d + 0.123456 },
          { channelId: 255, value: 3.976 },
        ];
        const r = await send(url, { token: tok, networkId: id, timestamp: ms + d * 1000 + 999, data }, { gzip, path });
        expect(r, `V2 device ${d}`).toEqual({ status: 200, body: { code: '200', accepted: 2 } });
        for (const v of data) expected.set(`${id}:${v.channelId}:${T0 + d}`, v.value);
      } else {
        const chs = [d * 1000 + 1, -d, 42];
        const r = await send(
          url,
          { networkId: id.toLowerCase(), timestamp: ms + d * 1000, data: v1hex(d, chs) },
          { gzip, path, token: tok },
        );
        expect(r, `V1 device ${d}`).toEqual({ status: 200, body: { code: '200', accepted: 7 } });
        const dev: Array<[number, number]> = [
          [255, 3000 + d],
          [254, 1],
          [253, d],
          [252, 0],
          ...chs.map((v, i) => [i + 1, v / 1000] as [number, number]),
        ];
        for (const [ch, v] of dev) expected.set(`${id}:${ch}:${T0 + d}`, v);
      }
      // and the V4 webhook (everything in the query, no body): one value, or V1 hex at `date`
      const at = T0 + 300 + d;
      if (d % 2 === 0) {
        now = at * 1000 + 500;
        const r = await webhook(url, `token=${tok}&netid=${id}&chid=9&value=${d}.25`);
        expect(r, `V4 value device ${d}`).toEqual({ status: 200, body: { code: '200', accepted: 1 } });
        expected.set(`${id}:9:${at}`, d + 0.25);
      } else {
        const r = await webhook(url, `token=${tok}&id=${id}&data=${v1hex(d, [d * 7])}&date=${at * 1000 + 999}`);
        expect(r, `V4 V1 device ${d}`).toEqual({ status: 200, body: { code: '200', accepted: 5 } });
        const dev: Array<[number, number]> = [
          [255, 3000 + d],
          [254, 1],
          [253, d],
          [252, 0],
          [1, (d * 7) / 1000],
        ];
        for (const [ch, v] of dev) expected.set(`${id}:${ch}:${at}`, v);
      }
    }
    const got = new Map<string, number>();
    for (const from of [0, 50, 100, 150, 300, 350, 400, 450].map((s) => T0 + s)) {
      const r = await fetch(`${url}/conduitv6?fcdt=${from * 1000}&tcdt=${(from + 49) * 1000 + 999}`, {
        headers: { 'x-api-key': tok },
      });
      expect(r.status).toBe(200);
      for (const p of (await r.json()) as Array<{
        dev_netid: string;
        dev_chid: number;
        val_date: number;
        val_raw: number;
        dev_site: string;
      }>) {
        expect(p.dev_site).toBe('Field');
        got.set(`${p.dev_netid}:${p.dev_chid}:${p.val_date}`, p.val_raw);
      }
    }
    expect(got).toEqual(expected);
    expect({ n: await c.count('conduit_devices') }).toEqual({ n: 200 });
  });

  it('concurrent uplinks from 300 devices, with bulk batches beside them: every value reads back', async () => {
    const c = await conduitApp();
    const tok = await c.user('gw', ['Field']);
    const url = await c.listen();
    const value = (d: number, ch: number) => d * 100 + ch + 0.5;
    const sends = Array.from({ length: 300 }, (_, d) =>
      send(
        url,
        {
          networkId: netid(d),
          timestamp: (T0 + d) * 1000,
          data: Array.from({ length: 8 }, (_, ch) => ({ channelId: ch + 1, value: value(d, ch + 1) })),
        },
        { token: tok, gzip: d % 2 === 0, path: d % 3 === 0 ? '/conduitv6/uplink' : '/conduitv6' },
      ),
    );
    const bulk = Array.from({ length: 5 }, (_, b) =>
      c.ingest(
        tok,
        Array.from({ length: 400 }, (_, i) => ({
          dev_netid: netid(1000 + b),
          dev_chid: 1,
          val_date: T0 + i,
          val_raw: i,
        })),
      ),
    );
    const [up, bu] = await Promise.all([Promise.all(sends), Promise.all(bulk)]);
    expect(up.every((r) => r.status === 200 && r.body.accepted === 8)).toBe(true);
    expect(bu.map((r) => r.json())).toEqual(Array(5).fill({ code: '200', accepted: 400 }));
    for (let d = 0; d < 300; d += 1) {
      const r = await fetch(`${url}/conduitv6?id=${netid(d)}&fcdt=${T0 + d}&tcdt=${T0 + d}`, {
        headers: { 'x-api-key': tok },
      });
      const got = ((await r.json()) as Array<{ dev_chid: number; val_raw: number }>).map((p) => [
        p.dev_chid,
        p.val_raw,
      ]);
      expect(got, `device ${d}`).toEqual(Array.from({ length: 8 }, (_, ch) => [ch + 1, value(d, ch + 1)]));
    }
    expect(await count(c)).toBe(300 * 8 + 5 * 400);
    expect({ n: await c.count('conduit_devices') }).toEqual({ n: 305 });
  });

  it('the same second and channel twice: the last value wins; no timestamp: the second of receipt', async () => {
    const c = await conduitApp();
    const tok = await c.user('gw', ['A', 'B']);
    const url = await c.listen();
    await send(
      url,
      { networkId: 'AB01', timestamp: T0 * 1000 + 10, data: [{ channelId: 1, value: 1 }] },
      { token: tok },
    );
    await send(
      url,
      {
        networkId: 'AB01',
        timestamp: T0 * 1000 + 900,
        data: [
          { channelId: 1, value: 2 },
          { channelId: 1, value: 3 },
        ],
      },
      { token: tok },
    );
    const before = Math.floor(Date.now() / 1000);
    expect((await send(url, { networkId: 'AB01', data: [{ channelId: 2, value: 5 }] }, { token: tok })).status).toBe(
      200,
    );
    const after = Math.floor(Date.now() / 1000);
    const rows = await c.sql<{ chid: number; val_date: number; val_raw: number }>(
      'SELECT chid, val_date, val_raw FROM conduit_datapoints ORDER BY chid',
    );
    expect(rows[0]).toEqual({ chid: 1, val_date: T0, val_raw: 3 });
    expect(rows[1]!.val_date).toBeGreaterThanOrEqual(before);
    expect(rows[1]!.val_date).toBeLessThanOrEqual(after);
    // a user with several sites: the new device goes to its default site (the first one made)
    expect(await c.one('SELECT s.name FROM conduit_devices d JOIN conduit_sites s ON s.id = d.site_id')).toEqual({
      name: 'A',
    });
  });

  it('bad uplinks write nothing and answer {"code","error"}', async () => {
    const c = await conduitApp();
    const tok = await c.user('gw', ['S']);
    const off = await c.user('off', ['S']);
    await c.users.update('off', { enabled: false });
    const url = await c.listen();
    const ok = { networkId: 'AB01', timestamp: T0 * 1000 };
    const cases: Array<[unknown, number, RegExp]> = [
      [{ ...ok, token: tok, data: [{ channelId: 1, value: '1.5' }] }, 400, /value/],
      [{ ...ok, token: tok, data: [{ channelId: '1', value: 1 }] }, 400, /channelId/],
      [{ ...ok, token: tok, data: [{ channelId: 1, value: 'NaN' }] }, 400, /value/],
      [{ ...ok, token: tok, data: [{ channelId: 1, value: 'Infinity' }] }, 400, /value/],
      // eslint-disable-next-line no-loss-of-precision -- on purpose: a 17-digit value, over AlphaX's 16
      [{ ...ok, token: tok, data: [{ channelId: 1, value: 12345678901234567 }] }, 400, /16 significant digits/],
      [
        {
          ...ok,
          token: tok,
          data: [
            { channelId: 1, value: 1 },
            // eslint-disable-next-line no-loss-of-precision -- on purpose: 17 significant digits
            { channelId: 2, value: 0.12345678901234567 },
          ],
        },
        400,
        /16 significant digits/,
      ],
      [{ ...ok, token: tok, timestamp: T0, data: [{ channelId: 1, value: 1 }] }, 400, /13-digit/],
      [{ ...ok, token: tok, networkId: 'not hex', data: [{ channelId: 1, value: 1 }] }, 400, /networkId/],
      [{ ...ok, token: tok, data: '0A10010001000000A00F00' }, 400, /8 \+ 4n bytes/],
      [{ ...ok, token: tok, data: 'zz10010001000000' }, 400, /hex/],
      [{ ...ok, token: tok, data: '00'.repeat(8 + 4 * 33) }, 400, /channels; at most 32/],
      [{ ...ok, token: tok, data: [] }, 400, /data/],
      [{ ...ok, token: 'unknown-token-0123456789', data: [{ channelId: 1, value: 1 }] }, 401, /unknown token/],
      [{ ...ok, data: [{ channelId: 1, value: 1 }] }, 401, /missing token/],
      [{ ...ok, token: off, data: [{ channelId: 1, value: 1 }] }, 403, /disabled/],
    ];
    for (const [body, status, msg] of cases) {
      for (const path of ['/conduitv6', '/conduitv6/uplink']) {
        const r = await send(url, body, { path, gzip: path === '/conduitv6' });
        expect(r.status, JSON.stringify(body).slice(0, 120)).toBe(status);
        expect(r.body).toEqual({ code: String(status), error: expect.stringMatching(msg) });
      }
    }
    const big = await send(url, {
      ...ok,
      token: tok,
      data: Array.from({ length: 9000 }, (_, i) => ({ channelId: i, value: 1.25 })),
      pad: 'x'.repeat(6 * 1024 * 1024),
    });
    expect(big.status).toBe(413);
    expect(await count(c)).toBe(0);
    expect({ n: await c.count('conduit_devices') }).toEqual({ n: 0 });
  });

  it('more bad uplinks: wrong types of every field, unknown fields, a switched-off service, a gzip bomb; nothing written', async () => {
    const c = await conduitApp();
    const tok = await c.user('gw', ['S']);
    const noApi = await c.user('noapi', ['S'], { httpApi: false });
    const url = await c.listen();
    const ok = { networkId: 'AB01', timestamp: T0 * 1000, data: [{ channelId: 1, value: 1 }] };
    const cases: Array<[unknown, number, RegExp]> = [
      [{ ...ok, data: 12 }, 400, /body\.data: .*expected array/],
      [{ ...ok, data: { channelId: 1, value: 1 } }, 400, /body\.data: .*expected array/],
      [{ ...ok, data: [{ channelId: 1, value: null }] }, 400, /value/],
      [{ ...ok, data: [{ channelId: 1, value: true }] }, 400, /value/],
      [{ ...ok, data: [{ channelId: 1.5, value: 1 }] }, 400, /channelId/],
      [{ ...ok, data: [{ channelId: -1, value: 1 }] }, 400, /channelId/],
      [{ ...ok, data: [{ channelId: 1, value: 1, unit: 'V' }] }, 400, /unit/],
      [{ ...ok, timestamp: String(T0 * 1000) }, 400, /timestamp/],
      [{ ...ok, timestamp: T0 * 1000 + 0.5 }, 400, /timestamp/],
      [{ ...ok, networkId: 123 }, 400, /networkId/],
      [{ ...ok, token: 42 }, 400, /token/],
      [{ ...ok, extra: 1 }, 400, /extra/],
    ];
    for (const [body, status, msg] of cases) {
      const r = await send(url, body, { token: tok });
      expect(r.status, JSON.stringify(body).slice(0, 120)).toBe(status);
      expect(r.body).toEqual({ code: String(status), error: expect.stringMatching(msg) });
    }
    expect(await send(url, { ...ok, token: noApi })).toEqual({
      status: 403,
      body: { code: '403', error: expect.stringMatching(/switched off/) },
    });
    // a gzip bomb of an uplink: 6 MB of padding inflated from a few KB
    const bomb = gzipSync(JSON.stringify({ ...ok, token: tok, pad: ' '.repeat(6 * 1024 * 1024) }));
    const r = await fetch(`${url}/conduitv6/uplink`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { code: string }).code).toBe('413');
    expect(await count(c)).toBe(0);
  });

  it('conduit.autoCreateDevices false: an uplink for an unknown device is a 404; a known one is stored', async () => {
    const c = await conduitApp({ autoCreateDevices: false });
    const tok = await c.user('gw', ['S']);
    const url = await c.listen();
    const r = await send(
      url,
      { networkId: 'AB01', timestamp: T0 * 1000, data: [{ channelId: 1, value: 1 }] },
      { token: tok },
    );
    expect(r).toEqual({ status: 404, body: { code: '404', error: expect.stringMatching(/device AB01 not found/) } });
    expect(await count(c)).toBe(0);
    expect((await c.ingest(tok, [{ dev_netid: 'AB01', dev_chid: 1, val_date: T0, val_raw: 0 }])).statusCode).toBe(200);
    expect(
      (
        await send(
          url,
          { networkId: 'ab01', timestamp: T0 * 1000 + 5000, data: [{ channelId: 1, value: 2 }] },
          { token: tok },
        )
      ).status,
    ).toBe(200);
    expect(await count(c)).toBe(2);
  });
});
