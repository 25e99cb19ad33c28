/**
 * `fieldhub store migrate-to-postgres` end to end (issue 17): a SQLite store filled through the HTTP
 * API of push, Conduit and Patriot (with its per-client XML files), copied by the CLI command into a
 * real PostgreSQL, verified (exit 0), run again (still 0, nothing doubled); then a server on
 * PostgreSQL answers the same reads as the SQLite server did and goes on writing.
 * (Sync's own copy, with its payload files, is test/modules/sync/migrate.test.ts.)
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { run } from '../src/cli.js';
import { ADMIN, build, tempDir } from './helpers/app.js';
import { onPostgres } from './helpers/driver.js';
import { Postgres, postgresUnavailable } from './helpers/postgres.js';
import { KEY_A, keysJson } from './modules/patriot/helpers.js';

const skip = onPostgres ? 'the SQLite run only (it starts its own PostgreSQL)' : postgresUnavailable();
let pg: Postgres;
beforeAll(async () => {
  if (!skip) pg = await Postgres.start();
}, 120_000);
afterAll(() => pg?.stop());

const CONDUIT_TOKEN = 'migrate-conduit-token-0123456789';

/** the reads that must answer the same before and after the move */
async function reads(t: Awaited<ReturnType<typeof build>>): Promise<string[]> {
  const auth = { authorization: `Bearer ${KEY_A}` };
  const got = await Promise.all([
    t.app.inject({ url: '/clients', headers: { ...auth, 'x-client-id': '7' } }),
    t.app.inject({ url: '/clients', headers: { ...auth, 'x-client-id': '8' } }),
    t.app.inject({ url: '/conduitv6?ch=3&fcdt=1700000000&tcdt=1700000100', headers: { 'x-api-key': CONDUIT_TOKEN } }),
    t.app.inject({ url: '/admin/push/devices', headers: ADMIN }),
  ]);
  for (const r of got) expect(r.statusCode, r.body).toBe(200);
  const devices = got[3].json<{ devices: Array<{ id: string; queued: number }> }>().devices.map((d) => ({
    id: d.id,
    queued: d.queued,
  }));
  return [got[0].body, got[1].body, got[2].body, JSON.stringify(devices)];
}

describe.skipIf(skip)('fieldhub store migrate-to-postgres', () => {
  it('copies a SQLite store and its files, verified, re-runnable; a PostgreSQL server answers the same', async () => {
    const dataDir = tempDir('fieldhub-migrate-');
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    writeFileSync(path.join(dataDir, 'keys.json'), JSON.stringify(keysJson()));
    const base = { conduit: { throttleSeconds: 0 }, patriot: { keysReloadMs: 100 } };
    const lite = await build({ ...base, store: { driver: 'sqlite' } }, { dataDir, keepDataDir: true });
    const auth = { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' };
    for (const id of [7, 8]) {
      const c = await lite.app.inject({
        method: 'PUT',
        url: '/clients',
        headers: auth,
        payload: { client_id: id, info: { Name: `Kunde ${id} <Ø&>` } },
      });
      expect(c.statusCode).toBe(201);
      const z = await lite.app.inject({
        method: 'PUT',
        url: '/clients/zones',
        headers: auth,
        payload: { client_id: id, zone_id: 1, Zone_area: 'Inngang', ModuleNo: 0 },
      });
      expect(z.statusCode).toBeLessThan(300);
    }
    const u = await lite.app.inject({
      method: 'POST',
      url: '/admin/conduit/users',
      headers: ADMIN,
      payload: { name: 'migrate', token: CONDUIT_TOKEN, sites: ['S1'], throttleSeconds: 0 },
    });
    expect(u.statusCode).toBe(201);
    const points = Array.from({ length: 20 }, (_, j) => ({
      dev_netid: 'A1',
      dev_chid: 3,
      val_date: 1_700_000_000 + j,
      val_raw: j / 4,
    }));
    const ingest = await lite.app.inject({
      method: 'POST',
      url: '/conduitv6',
      headers: { 'x-api-key': CONDUIT_TOKEN },
      payload: points,
    });
    expect(ingest.statusCode).toBe(200);
    const q = await lite.app.inject({
      method: 'POST',
      url: '/admin/push/commands',
      headers: ADMIN,
      payload: { deviceIds: ['4242', '4343'], endpoint: 'load_objects', body: { n: 1 } },
    });
    expect(q.statusCode).toBe(201);
    const before = await reads(lite);
    await lite.close();

    // the CLI, as an operator runs it: config file of the SQLite server, URL from a file
    const configFile = path.join(dataDir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ dataDir, ...base, admin: { token: 'admin-secret-token' } }));
    const urlFile = path.join(dataDir, 'pg-url');
    const url = pg.createDb('migrated');
    writeFileSync(urlFile, url, { mode: 0o600 });
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    onTestFinished(() => spy.mockRestore());
    const first = await run(['store', 'migrate-to-postgres', '--url-file', urlFile, '--config', configFile]);
    const second = await run(['store', 'migrate-to-postgres', '--url-file', urlFile, '--config', configFile]);
    spy.mockRestore();
    const text = out.join('');
    expect(first, text).toBe(0);
    expect(second, text).toBe(0);
    expect(text).not.toContain(pg.password);
    expect(text).toMatch(/ok +patriot_clients: 2 rows in SQLite, 2 in PostgreSQL/);
    expect(text).toMatch(/ok +conduit_datapoints: 20 rows in SQLite, 20 in PostgreSQL/);
    expect(text).toMatch(/ok +push_commands: 2 rows in SQLite, 2 in PostgreSQL/);
    expect(text).toMatch(/ok +patriot files: 2 on disk, 2 in PostgreSQL/);
    expect(text).not.toContain('DIFF');

    // a replica on PostgreSQL answers the same reads, and writes on
    const pgDir = tempDir('fieldhub-migrated-');
    onTestFinished(() => rmSync(pgDir, { recursive: true, force: true }));
    writeFileSync(path.join(pgDir, 'keys.json'), JSON.stringify(keysJson()));
    const onPg = await build({ ...base, store: { driver: 'postgres', url } }, { dataDir: pgDir });
    expect(await reads(onPg)).toEqual(before);
    const more = await onPg.app.inject({
      method: 'POST',
      url: '/admin/push/commands',
      headers: ADMIN,
      payload: { deviceIds: ['4242'], endpoint: 'load_objects', body: { n: 2 } },
    });
    expect(more.statusCode).toBe(201);
  });
});
