/**
 * PostgreSQL restarted under load (issue 17, faults), all four modules in one app: while the database
 * is down, requests that need it answer 503 with Retry-After in each module's own error shape, never
 * 500, and /readyz answers 503; after the restart the same process serves every route again (no
 * restart of fieldhub). A private PostgreSQL of its own (the run's shared one keeps serving the
 * other files); only in the PostgreSQL run.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN, build, tempDir } from './helpers/app.js';
import { onPostgres } from './helpers/driver.js';
import { Postgres } from './helpers/postgres.js';
import { KEY_A, keysJson } from './modules/patriot/helpers.js';

const CONDUIT = 'outage-conduit-token-0123456789';
const SYNC = 'outage-sync-token-0123456789';

describe.skipIf(!onPostgres)('PostgreSQL restarted under load', () => {
  it('503 + Retry-After in every module shape during the outage, never 500; everything answers again after it', async () => {
    const server = await Postgres.start();
    onTestFinished(() => server.stop());
    const dataDir = tempDir('fieldhub-outage-');
    writeFileSync(path.join(dataDir, 'keys.json'), JSON.stringify(keysJson()));
    const t = await build(
      {
        store: { driver: 'postgres', url: server.url(), pool: { connectionTimeoutMs: 1000 } },
        conduit: { throttleSeconds: 0 },
        sync: { apiToken: SYNC },
      },
      { dataDir },
    );
    const patriot = { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' };
    const setup = await Promise.all([
      t.app.inject({
        method: 'POST',
        url: '/admin/conduit/users',
        headers: ADMIN,
        payload: { name: 'o', token: CONDUIT, sites: ['S1'], throttleSeconds: 0 },
      }),
      t.app.inject({
        method: 'PUT',
        url: '/clients',
        headers: patriot,
        payload: { client_id: 7, info: { Name: 'x' } },
      }),
    ]);
    for (const r of setup) expect(r.statusCode).toBeLessThan(300);

    let n = 0;
    /** one request per module route that needs the database */
    const round = () =>
      Promise.all([
        t.app.inject({ url: '/conduitv6?ch=1&fcdt=1700000000&tcdt=1700000100', headers: { 'x-api-key': CONDUIT } }),
        t.app.inject({
          method: 'POST',
          url: '/conduitv6',
          headers: { 'x-api-key': CONDUIT },
          payload: [{ dev_netid: 'A1', dev_chid: 1, val_date: 1_700_000_000 + (n++ % 100), val_raw: 1 }],
        }),
        t.app.inject({ url: '/clients', headers: { ...patriot, 'x-client-id': '7' } }),
        t.app.inject({
          method: 'PUT',
          url: '/clients',
          headers: patriot,
          payload: { client_id: 7, info: { Name: `y${n}` } },
        }),
        t.app.inject({ url: '/sync', headers: { authorization: `Bearer ${SYNC}` } }),
        t.app.inject({
          method: 'POST',
          url: '/admin/push/commands',
          headers: ADMIN,
          payload: { deviceIds: ['77'], endpoint: 'load_objects' },
        }),
      ]);
    const names = ['conduit GET', 'conduit POST', 'patriot GET', 'patriot PUT', 'sync GET', 'push enqueue'];

    const healthy = await round();
    healthy.forEach((r, i) => expect(r.statusCode, `${names[i]} before: ${r.body}`).toBeLessThan(400));

    // the load goes on while the database stops and starts again
    const seen: Array<{ what: string; status: number; retryAfter?: string; body: string }> = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const rs = await round();
        rs.forEach((r, i) =>
          seen.push({
            what: names[i]!,
            status: r.statusCode,
            retryAfter: r.headers['retry-after'],
            body: r.body,
          }),
        );
      }
    })();
    server.stopServer();
    try {
      const down = await round();
      down.forEach((r, i) => {
        expect(r.statusCode, `${names[i]} during the outage: ${r.body}`).toBe(503);
        expect(r.headers['retry-after'], names[i]).toBe('5');
        expect(() => JSON.parse(r.body) as unknown, `${names[i]} answers JSON`).not.toThrow();
      });
      // each module's shape: conduit {code,error}, patriot/core {statusCode,...}, sync {error}
      expect(JSON.parse(down[0].body)).toMatchObject({ code: '503' });
      expect(JSON.parse(down[5].body)).toMatchObject({ statusCode: 503 });
      expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(503);
    } finally {
      server.restartServer();
    }
    let back = false;
    for (let i = 0; i < 200 && !back; i++) {
      back = (await round()).every((r) => r.statusCode < 400);
      if (!back) await new Promise((r) => setTimeout(r, 100));
    }
    stop = true;
    await load;
    expect(back, 'every route answers again after the restart').toBe(true);
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const bad = seen.filter((s) => s.status >= 400 && (s.status !== 503 || s.retryAfter !== '5'));
    expect(bad, 'answers during the outage other than 503 + Retry-After').toEqual([]);
    expect(seen.some((s) => s.status === 503)).toBe(true);
    expect(t.logs.text).not.toContain(server.password);
  });
});
