import { describe, expect, it } from 'vitest';
import { conduitApp, EXAMPLE, series, T0, type ConduitApp } from './helpers.js';

const range = (f: number, t: number) => `fcdt=${f}&tcdt=${t}`;
const WIDE = range(0, 99_999_999_999);
const count = (app: ConduitApp) => app.count();

describe('conduit API: sites', () => {
  it('a user sees and writes only the devices of its sites', async () => {
    const c = await conduitApp();
    const alice = await c.user('alice', ['North']);
    const bob = await c.user('bob', ['South']);
    const boss = await c.user('boss', ['North', 'South']);
    expect((await c.ingest(alice, series('A1', 3))).statusCode).toBe(200);
    expect((await c.ingest(bob, series('B1', 2))).statusCode).toBe(200);
    const seen = async (tok: string, q = WIDE) =>
      (await c.req({ token: tok, url: `/conduitv6?${q}` }))
        .json<Array<{ dev_netid: string; dev_site: string }>>()
        .map((p) => `${p.dev_netid}@${p.dev_site}`);
    expect(new Set(await seen(alice))).toEqual(new Set(['A1@North']));
    expect(new Set(await seen(bob))).toEqual(new Set(['B1@South']));
    expect(new Set(await seen(boss))).toEqual(new Set(['A1@North', 'B1@South']));
    // asking for another site's device by id answers nothing
    expect((await c.req({ token: bob, url: `/conduitv6?id=A1&${WIDE}` })).statusCode).toBe(304);
    // writes to another site's device are refused, and the whole batch with them
    const before = await count(c);
    const w = await c.ingest(bob, [...series('B1', 1, { from: T0 + 999 }), ...series('A1', 1, { from: T0 + 999 })]);
    expect(w.statusCode).toBe(403);
    expect(w.json()).toEqual({ code: '403', error: 'device A1 is not in one of your sites' });
    expect(await count(c)).toBe(before);
    const put = await c.req({ token: bob, method: 'PUT', url: '/conduitv6?id=A1', payload: { dev_tag: 'mine' } });
    expect(put.statusCode).toBe(403);
    const del = await c.req({ token: bob, method: 'DELETE', url: `/conduitv6?id=A1&${WIDE}` });
    expect(del.statusCode).toBe(403);
    expect(await count(c)).toBe(before);
    // a new device in a site that is not the user's: 403; a user with several sites must name one
    expect((await c.ingest(bob, series('C1', 1, { site: 'North' }))).statusCode).toBe(403);
    const several = await c.ingest(boss, series('C1', 1));
    expect(several.statusCode).toBe(400);
    expect(several.json().error).toMatch(/dev_site: required/);
    expect((await c.ingest(boss, series('C1', 1, { site: 'South' }))).statusCode).toBe(200);
    expect(new Set(await seen(bob))).toEqual(new Set(['B1@South', 'C1@South']));
    // moving a device to a site of the user's: the other user loses it
    expect((await c.ingest(boss, series('C1', 1, { site: 'North' }))).statusCode).toBe(200);
    expect(new Set(await seen(bob))).toEqual(new Set(['B1@South']));
  });
});

describe('conduit API: POST, PUT, DELETE and method override', () => {
  it('POST creates devices and channels, applies metadata (last value wins) and replaces a re-sent datapoint', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.ingest(tok, [
      { dev_netid: 'a1', dev_chid: 2, val_date: T0, val_raw: 1, dev_tag: 'first', val_type: 'Temp' },
      { dev_netid: 'A1', dev_chid: 2, val_date: T0 + 1, val_raw: 2, dev_tag: 'second', loc_lat: -33.5 },
      { dev_netid: 'A1', dev_chid: 2, val_date: T0, val_raw: 7, val_calibrated: 123 },
    ]);
    const got = (await c.req({ token: tok, url: `/conduitv6?${WIDE}` })).json();
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({
      val_date: T0,
      dev_netid: 'A1',
      dev_chid: 2,
      val_raw: 7,
      dev_tag: 'second',
      val_type: 'Temp',
      loc_lat: -33.5,
      loc_lng: null,
      dev_site: 'S',
      val_calibrated: 7,
    });
    expect(Object.keys(got[0])).toEqual(Object.keys(EXAMPLE));
  });

  it('concurrent batches commit together, yet a refused batch rolls back alone', async () => {
    const c = await conduitApp();
    const alice = await c.user('alice', ['North']);
    const bob = await c.user('bob', ['South']);
    await c.ingest(alice, series('A1', 1));
    const before = await count(c);
    const rs = await Promise.all([
      c.ingest(alice, series('A1', 100, { from: T0 + 60 })),
      c.ingest(bob, [...series('B1', 50), ...series('A1', 1, { from: 1 })]),
      c.ingest(bob, series('B2', 30)),
      c.ingest(alice, series('A2', 20)),
    ]);
    expect(rs.map((r) => r.statusCode)).toEqual([200, 403, 200, 200]);
    expect(rs.map((r) => r.json().accepted)).toEqual([100, undefined, 30, 20]);
    expect(await count(c)).toBe(before + 150);
    const devices = await c.sql('SELECT netid FROM conduit_devices ORDER BY netid');
    expect(devices).toEqual([{ netid: 'A1' }, { netid: 'A2' }, { netid: 'B2' }]);
  });

  it('PUT updates device and channel metadata; val_calibrated follows val_cal and val_offset', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.ingest(tok, [...series('A1', 2, { chs: 2 }), ...series('B2', 1)]);
    const put = await c.req({
      token: tok,
      method: 'PUT',
      url: '/conduitv6?id=A1&ch=2',
      payload: { val_cal: 2, val_offset: 1, val_type: 'Current', dev_label: 'L' },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ code: '200', updated: 2 });
    const got = (await c.req({ token: tok, url: `/conduitv6?id=A1&${WIDE}` })).json();
    expect(got[0]).toMatchObject({
      dev_chid: 1,
      val_raw: 0,
      val_cal: 0,
      val_offset: 0,
      val_calibrated: 0,
      dev_label: 'L',
      val_type: null,
    });
    expect(got[1]).toMatchObject({
      dev_chid: 2,
      val_raw: 0.1,
      val_cal: 2,
      val_offset: 1,
      val_calibrated: 0.1 * 2 + 1,
      val_type: 'Current',
    });
    for (const [url, payload, status, msg] of [
      ['/conduitv6', { dev_tag: 'x' }, 400, 'id is required'],
      ['/conduitv6?id=A1', { val_cal: 3 }, 400, 'val_cal: channel fields need the ch argument'],
      ['/conduitv6?id=DEAD', { dev_tag: 'x' }, 404, 'device DEAD not found'],
      ['/conduitv6?id=A1', {}, 400, 'no field to update'],
      ['/conduitv6?id=A1', { dev_colour: 'red' }, 400, 'dev_colour'],
      ['/conduitv6?id=A1', { loc_lat: 'north' }, 400, 'body.loc_lat'],
      ['/conduitv6?id=A1', { dev_site: 'Elsewhere' }, 403, 'site "Elsewhere" is not one of your sites'],
    ] as const) {
      const r = await c.req({ token: tok, method: 'PUT', url, payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(status);
      expect(r.json()).toEqual({ code: String(status), error: expect.stringContaining(msg) });
    }
  });

  it('DELETE removes the datapoints of id (and ch) in fcdt..tcdt; id and the range are required', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.ingest(tok, [...series('A1', 10, { chs: 2 }), ...series('B2', 4)]);
    const r = await c.req({ token: tok, method: 'DELETE', url: `/conduitv6?id=A1&ch=2&${range(T0, T0 + 120)}` });
    expect(r.json()).toEqual({ code: '200', deleted: 3 });
    expect(await count(c)).toBe(11);
    expect(
      (await c.req({ token: tok, method: 'DELETE', url: `/conduitv6?id=A1&${range(T0, T0 + 60)}` })).json(),
    ).toEqual({ code: '200', deleted: 2 });
    expect(await count(c)).toBe(9);
    expect((await c.req({ token: tok, method: 'DELETE', url: `/conduitv6?${WIDE}` })).json()).toEqual({
      code: '400',
      error: 'id is required',
    });
    expect((await c.req({ token: tok, method: 'DELETE', url: '/conduitv6?id=A1' })).json()).toEqual({
      code: '400',
      error: 'fcdt and tcdt are required',
    });
    expect((await c.req({ token: tok, method: 'DELETE', url: `/conduitv6?id=A1,FEED&${WIDE}` })).statusCode).toBe(404);
    expect(await count(c)).toBe(9);
  });

  it('X-HTTP-Method-Override: PUT or DELETE on a POST acts as that method; anything else 405', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await c.ingest(tok, series('A1', 3));
    const json = { 'content-type': 'application/json' };
    const put = await c.req({
      token: tok,
      method: 'POST',
      url: '/conduitv6?id=A1',
      headers: { ...json, 'x-http-method-override': 'PUT' },
      payload: { dev_tag: 'over' },
    });
    expect(put.json()).toEqual({ code: '200', updated: 1 });
    const del = await c.req({
      token: tok,
      method: 'POST',
      url: `/conduitv6?id=A1&${range(T0, T0)}`,
      headers: { 'x-http-method-override': 'delete' },
    });
    expect(del.json()).toEqual({ code: '200', deleted: 1 });
    const left = (await c.req({ token: tok, url: `/conduitv6?${WIDE}` })).json();
    expect(left.map((p: { dev_tag: string; val_date: number }) => [p.val_date, p.dev_tag])).toEqual([
      [T0 + 60, 'over'],
      [T0 + 120, 'over'],
    ]);
    const bad = await c.req({
      token: tok,
      method: 'POST',
      headers: { ...json, 'x-http-method-override': 'PATCH' },
      payload: [],
    });
    expect(bad.statusCode).toBe(405);
    expect(bad.json().code).toBe('405');
  });
});
