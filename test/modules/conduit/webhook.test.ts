/** The Conduit V4 webhook, POST /conduitv4/post: everything in the query, answered in the conduit error shape. */
import { describe, expect, it } from 'vitest';
import { conduitApp, T0, type ConduitApp } from './helpers.js';

const count = (c: ConduitApp) => c.count();
const post = (c: ConduitApp, query: string, headers: Record<string, string> = {}, payload?: string) =>
  c.app.inject({ method: 'POST', url: `/conduitv4/post?${query}`, headers, ...(payload ? { payload } : {}) });

describe('conduit V4 webhook', () => {
  it('one value (timestamped on receipt) or V1 hex (at date, default receipt); reads back through GET /conduitv6', async () => {
    let now = T0 * 1000 + 750;
    const c = await conduitApp({}, { now: () => now });
    const tok = await c.user('gw', ['Field']);
    const one = await post(c, `token=${tok}&netid=70b3d5499&chid=7&value=12.54`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ code: '200', accepted: 1 });
    now += 1000;
    // the token may also be in the usual headers; a body, if any, is ignored
    const hdr = await post(
      c,
      'netid=70B3D5499&chid=8&value=-0.5e1',
      { 'x-api-key': tok, 'content-type': 'text/plain' },
      'x',
    );
    expect(hdr.json()).toEqual({ code: '200', accepted: 1 });
    const v1 = await post(c, `token=${tok}&id=AB01&data=0A10010001000000A00F0000&date=${(T0 + 60) * 1000 + 999}`);
    expect(v1.json()).toEqual({ code: '200', accepted: 5 });
    const v1now = await post(c, `token=${tok}&id=AB02&data=0A10010001000000`);
    expect(v1now.json()).toEqual({ code: '200', accepted: 4 });

    const r = await c.req({ token: tok, url: `/conduitv6?fcdt=${T0}&tcdt=${T0 + 60}` });
    expect(r.statusCode).toBe(200);
    const got = r
      .json<Array<{ dev_netid: string; dev_chid: number; val_date: number; val_raw: number; dev_site: string }>>()
      .map((p) => [p.dev_netid, p.dev_chid, p.val_date, p.val_raw, p.dev_site]);
    expect(got).toEqual([
      ['70B3D5499', 7, T0, 12.54, 'Field'],
      ['70B3D5499', 8, T0 + 1, -5, 'Field'],
      ['AB02', 252, T0 + 1, 0, 'Field'],
      ['AB02', 253, T0 + 1, 1, 'Field'],
      ['AB02', 254, T0 + 1, 1, 'Field'],
      ['AB02', 255, T0 + 1, 4106, 'Field'],
      ['AB01', 1, T0 + 60, 4, 'Field'],
      ['AB01', 252, T0 + 60, 0, 'Field'],
      ['AB01', 253, T0 + 60, 1, 'Field'],
      ['AB01', 254, T0 + 60, 1, 'Field'],
      ['AB01', 255, T0 + 60, 4106, 'Field'],
    ]);
  });

  it('bad webhooks write nothing and answer the documented code in {"code","error"}', async () => {
    const c = await conduitApp();
    const tok = await c.user('gw', ['S']);
    const off = await c.user('off', ['S']);
    await c.users.update('off', { enabled: false });
    const noApi = await c.user('noapi', ['S'], { httpApi: false });
    const v = `token=${tok}&netid=AB01&chid=1`;
    const cases: Array<[string, number, RegExp]> = [
      [`token=${tok}`, 400, /expected token, netid, chid and value .* or token, id and data/],
      [`${v}&value=abc`, 400, /query\.value: expected a decimal number/],
      [`${v}&value=NaN`, 400, /query\.value: expected a decimal number/],
      [`${v}&value=Infinity`, 400, /query\.value: expected a decimal number/],
      [`${v}&value=-Infinity`, 400, /query\.value: expected a decimal number/],
      [`${v}&value=1e400`, 400, /query\.value: expected a finite number/],
      [`${v}&value=0x10`, 400, /query\.value: expected a decimal number/],
      [`${v}&value=`, 400, /query\.value: expected a decimal number/],
      [`${v}&value=12345678901234567`, 400, /query\.value: at most 16 significant digits/],
      [`${v}&value=1.0000000000000001`, 400, /at most 16 significant digits/],
      [`token=${tok}&netid=AB01&chid=x&value=1`, 400, /query\.chid: expected a channel id/],
      [`token=${tok}&netid=AB01&chid=2147483648&value=1`, 400, /query\.chid: expected a channel id/],
      [`token=${tok}&netid=zz&chid=1&value=1`, 400, /query\.netid: expected a network id/],
      [`token=${tok}&netid=AB01&value=1`, 400, /query\.chid/],
      [`${v}&value=1&data=00`, 400, /unrecognized|Unrecognized/],
      [`${v}&value=1&value=2`, 400, /value/],
      [`${v}&value=1&bogus=1`, 400, /bogus/],
      [`token=${tok}&id=AB01&data=zz10010001000000`, 400, /hex/],
      [`token=${tok}&id=AB01&data=0A10010001000000A00F00`, 400, /8 \+ 4n bytes/],
      [`token=${tok}&id=AB01&data=${'00'.repeat(8 + 4 * 33)}`, 400, /33 channels; at most 32/],
      [`token=${tok}&id=AB01&data=0A10010001000000&date=${T0}`, 400, /query\.date: expected 13-digit/],
      [`token=${tok}&id=AB01`, 400, /query\.data/],
      ['netid=AB01&chid=1&value=1', 401, /missing token/],
      ['token=unknown-token-0123456789&netid=AB01&chid=1&value=1', 401, /unknown token/],
      [`token=${off}&netid=AB01&chid=1&value=1`, 403, /disabled/],
      [`token=${noApi}&netid=AB01&chid=1&value=1`, 403, /switched off/],
    ];
    for (const [q, status, msg] of cases) {
      const r = await post(c, q);
      expect(r.statusCode, q.slice(0, 120)).toBe(status);
      expect(r.json(), q.slice(0, 120)).toEqual({ code: String(status), error: expect.stringMatching(msg) });
    }
    const big = await post(c, `${v}&value=1`, { 'content-type': 'application/json' }, 'x'.repeat(5 * 1024 * 1024 + 1));
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: '413' });
    const get = await c.app.inject({ url: `/conduitv4/post?${v}&value=1` });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(get.json()).toEqual({ code: '405', error: 'Method Not Allowed' });
    const other = await c.app.inject({ method: 'POST', url: '/conduitv4/nope' });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ code: '404' });
    expect(await count(c)).toBe(0);
    expect((await post(c, `${v}&value=1`)).statusCode, 'control: the same query with a value').toBe(200);
    expect(await count(c)).toBe(1);
  });

  it('conduit.autoCreateDevices false: a webhook for an unknown device is a 404, nothing written', async () => {
    const c = await conduitApp({ autoCreateDevices: false });
    const tok = await c.user('gw', ['S']);
    const r = await post(c, `token=${tok}&netid=AB01&chid=1&value=1`);
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ code: '404', error: expect.stringMatching(/device AB01 not found/) });
    expect(await count(c)).toBe(0);
  });
});
