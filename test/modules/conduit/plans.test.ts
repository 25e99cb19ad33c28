/**
 * Per-user plans at their edges, on an injected clock (no waiting, no elapsed-time assertion):
 * 429 one millisecond before a window ends and a pass at its end, 413 one second over 31 days.
 */
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../../src/core/module.js';
import conduit from '../../../src/modules/conduit/index.js';
import type { Plan } from '../../../src/modules/conduit/plans.js';
import { ADMIN } from '../../helpers/app.js';
import { conduitApp, series, T0, type ConduitApp } from './helpers.js';

const DAY = 86400;
const count = (c: ConduitApp) => c.count();

async function planApp(plan: Plan) {
  const clock = { now: T0 * 1000 };
  const c = await conduitApp({}, { now: () => clock.now });
  const tok = await c.user(`u-${plan}`, ['S'], { throttleSeconds: null, plan });
  const get = (q = `fcdt=${T0}&tcdt=${T0 + 60}`) => c.req({ token: tok, url: `/conduitv6?${q}` });
  let n = 0;
  /** one write of each form in turn: V2 uplink, V1 uplink, V4 webhook, bulk array */
  const write = () => {
    const i = n++;
    const date = T0 + i;
    const json = { 'content-type': 'application/json' };
    switch (i % 4) {
      case 0:
        return c.req({
          method: 'POST',
          token: tok,
          headers: json,
          payload: { networkId: 'AB01', timestamp: date * 1000, data: [{ channelId: 1, value: i }] },
        });
      case 1:
        return c.req({
          method: 'POST',
          url: '/conduitv6/uplink',
          headers: json,
          payload: { token: tok, networkId: 'AB01', timestamp: date * 1000, data: '0A10010001000000A00F0000' },
        });
      case 2:
        return c.app.inject({ method: 'POST', url: `/conduitv4/post?token=${tok}&netid=AB01&chid=2&value=${i}` });
      default:
        return c.ingest(tok, [{ dev_netid: 'AB01', dev_chid: 3, val_date: date, val_raw: i }]);
    }
  };
  return { c, tok, clock, get, write };
}

const refused = (r: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, retry: string) => {
  expect(r.statusCode).toBe(429);
  expect(r.headers['retry-after']).toBe(retry);
  expect(r.json()).toEqual({ code: '429', error: expect.stringMatching(/^Too Many Requests: /) });
};

describe('conduit plans', () => {
  for (const [plan, windowS] of [
    ['standard', 10],
    ['pro', 1],
  ] as const) {
    it(`${plan}: reads 1 per ${windowS} s (429 at ${windowS * 1000 - 1} ms, pass at ${windowS * 1000} ms)`, async () => {
      const p = await planApp(plan);
      expect((await p.get()).statusCode).toBe(304);
      p.clock.now += windowS * 1000 - 1;
      refused(await p.get(), '1');
      p.clock.now += 1;
      expect((await p.get()).statusCode).toBe(304);
      refused(await p.get(), String(windowS));
    });

    it(`${plan}: 100 writes per second whatever their form, 1 uplink = 1 write; reads are apart`, async () => {
      const p = await planApp(plan);
      const t0 = p.clock.now;
      for (let i = 0; i < 100; i++) expect((await p.write()).statusCode, `write ${i}`).toBe(200);
      const stored = await count(p.c);
      refused(await p.write(), '1');
      p.clock.now = t0 + 999;
      refused(await p.write(), '1');
      expect(await count(p.c), 'a refused write stores nothing').toBe(stored);
      expect((await p.get()).statusCode, 'reads have their own window').toBe(200);
      // at t0 + 1000 the 100 writes of t0 are out of the last second: 100 more pass, the 101st does not
      p.clock.now = t0 + 1000;
      for (let i = 0; i < 100; i++) expect((await p.write()).statusCode, `write ${100 + i}`).toBe(200);
      refused(await p.write(), '1');
    });

    it(`${plan}: 1000 records per answer (paged), 413 over 31 days`, async () => {
      const p = await planApp(plan);
      await p.c.users.update(`u-${plan}`, { throttleSeconds: 0 }); // the user's own window wins: reads unthrottled here
      // 1001 datapoints, one a minute from T0, in one bulk POST (one write)
      expect((await p.c.ingest(p.tok, series('A1', 1001))).statusCode).toBe(200);
      const all = await p.get(`fcdt=${T0}&tcdt=${T0 + 1001 * 60}`);
      expect(all.json<unknown[]>()).toHaveLength(1000);
      expect(all.headers['x-conduit-truncated']).toBe('true');
      expect(all.headers['x-conduit-next-fcdt']).toBe(String(T0 + 1000 * 60));
      const exact = await p.get(`fcdt=${T0}&tcdt=${T0 + 999 * 60}`);
      expect(exact.json<unknown[]>()).toHaveLength(1000);
      expect(exact.headers['x-conduit-truncated']).toBeUndefined();

      expect((await p.get(`fcdt=${T0}&tcdt=${T0 + 31 * DAY}`)).statusCode, 'exactly 31 days').toBe(200);
      const over = await p.get(`fcdt=${T0}&tcdt=${T0 + 31 * DAY + 1}`);
      expect(over.statusCode).toBe(413);
      expect(over.json()).toEqual({ code: '413', error: expect.stringMatching(/at most 2678400 s \(31 days\)/) });
      const overMs = await p.get(`fcdt=${T0 * 1000}&tcdt=${(T0 + 31 * DAY + 1) * 1000}`);
      expect(overMs.statusCode, 'the same in milliseconds').toBe(413);
    });
  }

  it('enterprise: no read or write limit; 413 over 31 days; 100,000 records per answer', async () => {
    const p = await planApp('enterprise');
    for (let i = 0; i < 300; i++) expect((await p.get()).statusCode).toBe(304);
    for (let i = 0; i < 300; i++) expect((await p.write()).statusCode, `write ${i}`).toBe(200);
    expect((await p.get(`fcdt=${T0}&tcdt=${T0 + 31 * DAY}`)).statusCode).toBe(200);
    expect((await p.get(`fcdt=${T0}&tcdt=${T0 + 31 * DAY + 1}`)).statusCode).toBe(413);
    // 4 devices x 25,001 minutes (17.4 days): 100,004 datapoints in range, answered in order (minute, device)
    const day = T0 + DAY;
    for (const dev of ['B1', 'B2', 'B3', 'B4'])
      expect((await p.c.ingest(p.tok, series(dev, 25_001, { from: day }))).statusCode).toBe(200);
    const r = await p.get(`fcdt=${day}&tcdt=${day + 30 * DAY}`);
    expect(r.json<unknown[]>()).toHaveLength(100_000);
    expect(r.headers['x-conduit-truncated']).toBe('true');
    expect(r.headers['x-conduit-next-fcdt']).toBe(String(day + 25_000 * 60));
  });

  it('spec (the default): one request per 15 s over every method, 10,000 records, long ranges answered', async () => {
    const p = await planApp('spec');
    expect((await p.get()).statusCode).toBe(304);
    p.clock.now += 14_999;
    refused(await p.write(), '1');
    refused(await p.get(), '1');
    p.clock.now += 1;
    expect((await p.write()).statusCode).toBe(200);
    refused(await p.get(), '15');
    p.clock.now += 15_000;
    expect((await p.get(`fcdt=${T0}&tcdt=${T0 + 365 * DAY}`)).statusCode, 'no 31-day limit').toBe(200);
  });

  it('the admin API and the CLI set the plan; listings show it; an unknown plan is a 400', async () => {
    const c = await conduitApp({}, { now: () => T0 * 1000 });
    const add = await c.app.inject({
      method: 'POST',
      url: '/admin/conduit/users',
      headers: ADMIN,
      payload: { name: 'alice', sites: ['S'], plan: 'pro' },
    });
    expect(add.statusCode).toBe(201);
    expect(add.json()).toMatchObject({ user: { name: 'alice', plan: 'pro' } });
    const plain = await c.app.inject({
      method: 'POST',
      url: '/admin/conduit/users',
      headers: ADMIN,
      payload: { name: 'bob' },
    });
    expect(plain.json()).toMatchObject({ user: { plan: 'spec' } });
    const patch = await c.app.inject({
      method: 'PATCH',
      url: '/admin/conduit/users/bob',
      headers: ADMIN,
      payload: { plan: 'enterprise' },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json()).toMatchObject({ name: 'bob', plan: 'enterprise' });
    const bad = await c.app.inject({
      method: 'PATCH',
      url: '/admin/conduit/users/bob',
      headers: ADMIN,
      payload: { plan: 'gold' },
    });
    expect(bad.statusCode).toBe(400);
    const list = await c.app.inject({ url: '/admin/conduit/users', headers: ADMIN });
    expect(list.json<Array<{ name: string; plan: string }>>().map((u) => [u.name, u.plan])).toEqual([
      ['alice', 'pro'],
      ['bob', 'enterprise'],
    ]);
    // the plan applies from the next request: alice (pro) has one read a second, then none as enterprise
    const tok = add.json<{ token: string }>().token;
    expect((await c.req({ token: tok })).statusCode).toBe(304);
    expect((await c.req({ token: tok })).statusCode).toBe(429);
    await c.users.update('alice', { plan: 'enterprise' });
    expect((await c.req({ token: tok })).statusCode).toBe(304);

    // the CLI: add --plan, plan NAME PLAN, list shows it
    const lines: string[] = [];
    const store = c.app.pg ? { pg: c.app.pg } : { store: c.app.store };
    const ctx = { config: c.config, ...store, log: c.app.log, out: (l: string) => lines.push(l) };
    const cli = conduit.commands!.user!;
    expect(await cli.run(['add', 'carol', '--plan', 'standard'], ctx as unknown as CliContext)).toBe(0);
    expect(await cli.run(['plan', 'bob', 'pro'], ctx as unknown as CliContext)).toBe(0);
    expect(await cli.run(['plan', 'bob', 'gold'], ctx as unknown as CliContext)).toBe(1);
    expect(lines.at(-1)).toBe('fieldhub conduit user: plan must be one of spec, standard, pro, enterprise');
    lines.length = 0;
    expect(await cli.run(['list'], ctx as unknown as CliContext)).toBe(0);
    expect(lines.map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'NAME ENABLED HTTP_API PLAN',
      'alice yes on enterprise',
      'bob yes on pro',
      'carol yes on standard',
    ]);
  });
});
