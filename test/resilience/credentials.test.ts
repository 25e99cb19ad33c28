/**
 * Security on the real server (child process, log level debug so that as much as possible is logged):
 * - each module refuses the other modules' credentials, in every place a client can put them
 *   (Authorization: Bearer, X-Api-Key, Token header, ?token=), and each accepts its own (so the
 *   refusals are not an artefact);
 * - the admin API refuses every module credential;
 * - no configured secret appears in the server's stdout/stderr, the patriot request log or the
 *   notifications (shown to operators), after every request of this file.
 * The push device routes (GET /push, POST /result) take no credential by the Control iD protocol.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_AUTH,
  allServers,
  killLeftovers,
  http,
  jsonReq,
  makeDataDir,
  report,
  SECRETS,
  secretsIn,
  startServer,
  type Server,
} from './helpers/server.js';
import { openStore } from './helpers/db.js';

let s: Server;
let dir: string;
beforeAll(async () => {
  dir = makeDataDir();
  s = await startServer({ dataDir: dir, config: { server: { logLevel: 'debug' } }, name: 'credentials' });
  const r = await jsonReq(
    `${s.url}/admin/conduit/users`,
    'POST',
    { name: 'cred', token: SECRETS.conduit, sites: ['S1'], throttleSeconds: 0 },
    ADMIN_AUTH,
  );
  expect(r.status).toBe(201);
  const r2 = await jsonReq(
    `${s.url}/admin/conduit/users`,
    'POST',
    { name: 'cred2', token: SECRETS.conduit2, sites: ['S2'], throttleSeconds: 0 },
    ADMIN_AUTH,
  );
  expect(r2.status).toBe(201);
  const c = await jsonReq(
    `${s.url}/clients`,
    'PUT',
    { client_id: 1, info: { Name: 'one' } },
    { authorization: `Bearer ${SECRETS.patriotA}` },
  );
  expect(c.status).toBe(201);
});
afterAll(async () => {
  await killLeftovers();
  await s?.stop();
  for (const x of allServers()) expect(secretsIn(x.text()), 'secrets in a server log').toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

type Cred = 'admin' | 'sync' | 'conduit' | 'conduit2' | 'patriotA' | 'patriotB' | 'passphrase' | 'smbPassword';
const CREDS: Cred[] = ['admin', 'sync', 'conduit', 'conduit2', 'patriotA', 'patriotB', 'passphrase', 'smbPassword'];
type Way = 'bearer' | 'x-api-key' | 'token-header' | 'query';
const WAYS: Way[] = ['bearer', 'x-api-key', 'token-header', 'query'];

function present(url: string, way: Way, secret: string): { url: string; headers: Record<string, string> } {
  switch (way) {
    case 'bearer':
      return { url, headers: { authorization: `Bearer ${secret}` } };
    case 'x-api-key':
      return { url, headers: { 'x-api-key': secret } };
    case 'token-header':
      return { url, headers: { token: secret } };
    case 'query':
      return { url: `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(secret)}`, headers: {} };
  }
}

interface Target {
  name: string;
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** credentials (and the ways) this target accepts */
  accepts: Partial<Record<Cred, Way[]>>;
  refused: number;
}

const TARGETS: Target[] = [
  { name: 'sync GET /sync', url: '/sync', accepts: { sync: ['bearer', 'query'] }, refused: 403 },
  { name: 'sync GET /sync/devices', url: '/sync/devices', accepts: { sync: ['bearer', 'query'] }, refused: 403 },
  {
    name: 'conduit GET',
    url: '/conduitv6',
    accepts: { conduit: ['x-api-key', 'token-header', 'query'], conduit2: ['x-api-key', 'token-header', 'query'] },
    refused: 401,
  },
  {
    name: 'patriot GET /clients',
    url: '/clients',
    headers: { 'x-client-id': '1' },
    accepts: { patriotA: ['bearer'], patriotB: ['bearer'] },
    refused: 401,
  },
  { name: 'admin push', url: '/admin/push/devices', accepts: { admin: ['bearer'] }, refused: 401 },
  { name: 'admin conduit', url: '/admin/conduit/users', accepts: { admin: ['bearer'] }, refused: 401 },
  { name: 'admin patriot', url: '/admin/patriot/import-runs', accepts: { admin: ['bearer'] }, refused: 401 },
  { name: 'admin sync', method: 'POST', url: '/admin/sync/process', accepts: { admin: ['bearer'] }, refused: 401 },
];

describe('credentials are not interchangeable', () => {
  it('every target refuses every other credential in every place, and accepts its own', async () => {
    let refusedChecked = 0;
    let acceptedChecked = 0;
    const wrong: string[] = [];
    for (const t of TARGETS) {
      for (const cred of CREDS) {
        for (const way of WAYS) {
          const p = present(t.url, way, SECRETS[cred]);
          // conduit's throttle is off (throttleSeconds 0), so repeated accepted requests are fine
          const r = await http(`${s.url}${p.url}`, {
            method: t.method ?? 'GET',
            headers: { ...(t.headers ?? {}), ...p.headers },
          });
          const ok = t.accepts[cred]?.includes(way) ?? false;
          if (ok) {
            acceptedChecked++;
            // accepted = past authentication (patriot key B gets 404 for key A's client 1)
            if (r.status === t.refused || r.status >= 500 || (r.status >= 400 && r.status !== 404))
              wrong.push(`${t.name} refused its own ${cred} (${way}): ${r.status}`);
          } else {
            refusedChecked++;
            if (r.status !== t.refused) wrong.push(`${t.name} answered ${r.status} to ${cred} (${way})`);
          }
        }
      }
      // and nothing at all
      const none = await http(`${s.url}${t.url}`, { method: t.method ?? 'GET', headers: t.headers });
      if (none.status !== t.refused) wrong.push(`${t.name} answered ${none.status} without credentials`);
    }
    expect(wrong).toEqual([]);
    expect(acceptedChecked).toBe(4 + 6 + 2 + 4);
    report('security.credentials', { targets: TARGETS.length, refusedChecked, acceptedChecked });
  });

  it('a conduit user never sees another user’s site; a patriot key never another key’s clients', async () => {
    const w = await jsonReq(
      `${s.url}/conduitv6`,
      'POST',
      [{ dev_netid: 'AA01', dev_chid: 1, val_date: 1_700_000_000, val_raw: 1 }],
      { 'x-api-key': SECRETS.conduit },
    );
    expect(w.status).toBe(200);
    const other = await http(`${s.url}/conduitv6?id=AA01&fcdt=1699999999&tcdt=1700000001`, {
      headers: { 'x-api-key': SECRETS.conduit2 },
    });
    expect(other.status).toBe(304);
    const b = await http(`${s.url}/clients`, {
      headers: { authorization: `Bearer ${SECRETS.patriotB}`, 'x-client-id': '1' },
    });
    expect(b.status).toBe(404);
  });

  it('no secret in the server log, the patriot request log or the notifications', async () => {
    // a few more requests that carry secrets in every place, including the URL
    await http(`${s.url}/sync?token=${SECRETS.sync}`);
    await http(`${s.url}/conduitv6?token=${SECRETS.conduit}`);
    await http(`${s.url}/conduitv6/nope?token=${SECRETS.conduit}`);
    await http(`${s.url}/clients?token=${SECRETS.patriotA}`, {
      headers: { authorization: `Bearer ${SECRETS.patriotA}`, 'x-client-id': 'x' },
    });
    await http(`${s.url}/admin/push/devices?token=${SECRETS.admin}`, { headers: ADMIN_AUTH });
    await http(`${s.url}/push?deviceId=1&token=${SECRETS.admin}`);
    await s.stop();
    const text = s.text();
    expect(text.length).toBeGreaterThan(1000);
    expect(text).toContain('[REDACTED]'); // the ?token= values were logged redacted
    expect(secretsIn(text)).toEqual([]);
    expect(secretsIn(readFileSync(path.join(dir, 'api_requests.log'), 'utf8'))).toEqual([]);
    const db = await openStore(dir, { readonly: true }); // the SQLite file, or the data dir's PostgreSQL database
    const notes = JSON.stringify(await db.all('SELECT * FROM notifications'));
    await db.close();
    expect(secretsIn(notes)).toEqual([]);
    report('security.logs', { logLines: s.lines.length, logBytes: text.length });
  });
});
