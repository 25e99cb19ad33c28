/**
 * Faults against the real server (child process): a NetAlertX node that hangs / answers garbage /
 * is down in pull mode, SQLite busy (another connection holds the write lock longer than the busy
 * timeout), the data dir not writable (server run as an unprivileged user, folders chmod 0555), and
 * a data dir that cannot exist. Each must give a clear log line, a metric, and a notification or an
 * error answer, while the other modules keep answering.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptData } from '../../src/modules/sync/crypto.js';
import {
  ADMIN_AUTH,
  http,
  jsonReq,
  metric,
  report,
  ROOT,
  SECRETS,
  secretsIn,
  startServer,
  type Server,
  suiteDataDirs,
} from './helpers/server.js';
import { onPostgres, openStore } from './helpers/db.js';

const { dataDir, scratchDir } = suiteDataDirs();

const SYNC_AUTH = { authorization: `Bearer ${SECRETS.sync}` };
const PAT_A = { authorization: `Bearer ${SECRETS.patriotA}` };
const CONDUIT = { 'x-api-key': SECRETS.conduit };

async function conduitUser(s: Server): Promise<void> {
  const r = await jsonReq(
    `${s.url}/admin/conduit/users`,
    'POST',
    { name: 'faults', token: SECRETS.conduit, sites: ['S1'], throttleSeconds: 0 },
    ADMIN_AUTH,
  );
  expect(r.status).toBe(201);
}
let dp = 0;
const conduitPost = (s: Server) =>
  jsonReq(
    `${s.url}/conduitv6`,
    'POST',
    [{ dev_netid: 'F1', dev_chid: 1, val_date: 1_700_000_000 + dp++, val_raw: 1 }],
    CONDUIT,
  );
const patriotPut = (s: Server, id: number) =>
  jsonReq(`${s.url}/clients`, 'PUT', { client_id: id, info: { Name: `client ${id}` } }, PAT_A);
const syncPost = (s: Server, i: number) =>
  http(`${s.url}/sync`, {
    method: 'POST',
    headers: SYNC_AUTH,
    body: new URLSearchParams({
      data: encryptData(
        JSON.stringify({ data: [{ devMac: `02:aa:00:00:00:${(i & 255).toString(16).padStart(2, '0')}` }] }),
        SECRETS.passphrase,
      ),
      node_name: 'n1',
      plugin: 'SYNC',
    }),
  });
const logged = (s: Server, msg: string) => s.json().filter((l) => l.msg === msg);

/** The other modules still answer 2xx (reads and writes that do not need what is broken). */
async function othersAnswer(s: Server, opts: { writes: boolean }): Promise<void> {
  expect((await http(`${s.url}/healthz`)).status).toBe(200);
  expect((await http(`${s.url}/push?deviceId=42`)).status).toBe(200);
  expect((await http(`${s.url}/sync/devices`, { headers: SYNC_AUTH })).status).toBe(200);
  expect((await http(`${s.url}/clients`, { headers: { ...PAT_A, 'x-client-id': '1' } })).status).toBe(200);
  expect([200, 304]).toContain((await http(`${s.url}/conduitv6`, { headers: CONDUIT })).status);
  if (opts.writes) expect((await conduitPost(s)).status).toBe(200);
}

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: HttpServer; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

describe('NetAlertX nodes in pull mode', () => {
  it('a hanging node, a garbage answer and a node that is down: log, metric, alert; the rest keeps serving', async () => {
    const held: Array<import('node:http').ServerResponse> = [];
    // accepts, never answers; notes when the pull's request arrived and when the hub gave up on it
    const hangTimes: { start?: number; end?: number } = {};
    const hang = await listen((req, res) => {
      hangTimes.start = Date.now();
      req.socket.on('close', () => (hangTimes.end ??= Date.now()));
      held.push(res);
    });
    const garbage = await listen((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>502 Bad Gateway</html>'),
    );
    const badJson = await listen((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ node_name: 'bad\u0001name', data_base64: 'x' })),
    );
    const down = await listen(() => undefined);
    const downUrl = down.url;
    await new Promise<void>((r) => down.server.close(() => r()));
    const nodes = [hang.url, garbage.url, badJson.url, downUrl];
    const dir = dataDir();
    // with a GC every 50 ms: on Node 20 a GC dropped the AbortSignal.timeout the pull relied on (fixed)
    const s = await startServer({
      dataDir: dir,
      config: { sync: { pullNodes: nodes, pullTimeoutSeconds: 5 } },
      name: 'faults-pull',
      gcEveryMs: 50,
    });
    try {
      await conduitUser(s);
      expect((await patriotPut(s, 1)).status).toBe(201);
      const t0 = Date.now();
      let pullSettled = false;
      const pull = http(`${s.url}/admin/sync/pull`, { method: 'POST', headers: ADMIN_AUTH, timeoutMs: 30_000 }).finally(
        () => (pullSettled = true),
      );
      // while the pull waits on the hanging node, everything else answers
      await expect.poll(() => hangTimes.start, { timeout: 20_000, interval: 20 }).toBeDefined();
      await othersAnswer(s, { writes: true });
      expect((await patriotPut(s, 2)).status).toBe(201);
      const answeredAt = Date.now();
      // order, not speed: the hang was still open (the pull not answered) when the others had answered
      const openWhenAnswered = hangTimes.end === undefined && !pullSettled;
      const whileHanging = answeredAt - t0;
      const r = await pull;
      expect(r.status).toBe(200);
      const value = r.json<{ value: Array<{ url: string; ok: boolean; error?: string }> }>().value;
      expect(value.map((v) => v.ok)).toEqual([false, false, false, false]);
      expect(value[0]!.error).toBe('timed out');
      expect(value[1]!.error).toBe('the answer is not JSON');
      expect(value[2]!.error).toMatch(/node_name/);
      expect(value[3]!.error).toMatch(/ECONNREFUSED/);
      expect(openWhenAnswered).toBe(true); // the others answered while the pull still waited on the hanging node

      expect(await metric(s.url, 'fieldhub_sync_payloads_total', { source: 'pull', result: 'error' })).toBe(4);
      const lines = logged(s, 'sync: pull failed');
      expect(lines.map((l) => l.reason)).toEqual(value.map((v) => v.error));
      const n = await http(`${s.url}/sync/notifications`, { headers: SYNC_AUTH });
      const alerts = n
        .json<{ notifications: Array<{ level: string; text: string }> }>()
        .notifications.filter((x) => x.level === 'alert');
      for (const u of nodes)
        expect(
          alerts.some((a) => a.text.includes(`Failed to pull data from "${u}/sync"`)),
          u,
        ).toBe(true);
      report('faults.pull', { nodes: nodes.length, pullMs: Date.now() - t0, othersAnsweredWithinMs: whileHanging });
    } finally {
      for (const res of held) res.destroy();
      hang.server.closeAllConnections();
      for (const x of [hang, garbage, badJson]) x.server.close();
      await s.stop();
    }
  });
});

describe('SQLite busy', () => {
  // SQLite's one write lock and busy timeout have no PostgreSQL counterpart (row locks, each writer
  // waits for its rows only); a database that cannot be reached is the per-module outage tests'
  // (test/modules/*/outage.test.ts, test/core/pg.test.ts): this run shares one PostgreSQL server
  it.skipIf(onPostgres)(
    'another connection holds the write lock past the busy timeout: writes answer 503 + Retry-After with a log line and a metric, reads go on, writes resume',
    async () => {
      const dir = dataDir();
      const s = await startServer({ dataDir: dir, config: { store: { busyTimeoutMs: 250 } }, name: 'faults-busy' });
      try {
        await conduitUser(s);
        expect((await patriotPut(s, 1)).status).toBe(201);
        const db = new Database(path.join(dir, 'fieldhub.sqlite'));
        db.exec('BEGIN IMMEDIATE');
        db.prepare(
          "INSERT INTO notifications (created_at, module, level, text) VALUES ('x', 'test', 'info', 'lock holder')",
        ).run();
        let answers: Record<string, { status: number; retryAfter: string | null; body: string }>;
        try {
          const c = await conduitPost(s);
          const p = await patriotPut(s, 3);
          const y = await syncPost(s, 1);
          const a = (r: typeof c) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: r.text });
          answers = { conduit: a(c), patriot: a(p), sync: a(y) };
          // reads do not need the write lock (WAL)
          await othersAnswer(s, { writes: false });
        } finally {
          db.exec('ROLLBACK');
          db.close();
        }
        // 503 + Retry-After: nothing was written and a retry will do; each in its module's shape
        expect(answers.conduit).toEqual({
          status: 503,
          retryAfter: '1',
          body: JSON.stringify({ code: '503', error: 'Service Unavailable' }),
        });
        expect(answers.patriot).toEqual({
          status: 503,
          retryAfter: '1',
          body: JSON.stringify({ detail: 'Service Unavailable' }),
        });
        expect(answers.sync).toEqual({
          status: 503,
          retryAfter: '1',
          body: JSON.stringify({ success: false, error: 'the store is busy; retry shortly' }),
        });
        const busy = s
          .json()
          .filter(
            (l) => l.msg === 'request failed' && (l.err as { code?: string } | undefined)?.code === 'SQLITE_BUSY',
          );
        expect(busy.length).toBe(3);
        expect(await metric(s.url, 'fieldhub_http_requests_total', { status: '503' })).toBe(3);
        // the lock is gone: writes work again, nothing of the refused ones was written
        expect((await conduitPost(s)).status).toBe(200);
        expect((await patriotPut(s, 3)).status).toBe(201);
        expect((await syncPost(s, 2)).status).toBe(200);
        report('faults.sqliteBusy', { busyTimeoutMs: 250, refusedWrites: 3, logLines: busy.length });
      } finally {
        await s.stop();
      }
    },
  );
});

describe('data dir not writable', () => {
  // on PostgreSQL the payloads and the XML are rows, nothing to fail on disk: the test below it instead
  it.skipIf(onPostgres)(
    'folders chmod 0555 under a server run as nobody: sync and patriot writes fail loudly, the rest serves',
    async () => {
      const dir = dataDir();
      const s = await startServer({ dataDir: dir, asUser: 65534, name: 'faults-readonly' });
      const ro = [
        path.join(dir, 'log', 'plugins'),
        path.join(dir, 'log'),
        path.join(dir, 'out', 'clients', 'InstA'),
        path.join(dir, 'out', 'clients'),
        path.join(dir, 'out'),
        dir,
      ];
      try {
        await conduitUser(s);
        expect((await patriotPut(s, 1)).status).toBe(201);
        expect((await syncPost(s, 1)).status).toBe(200);
        for (const d of ro) chmodSync(d, 0o555);

        const y = await syncPost(s, 2);
        expect(y.status).toBe(500);
        expect(y.json()).toEqual({ success: false, error: '[Plugin: SYNC] Failed to store data: EACCES' });
        const p = await patriotPut(s, 2);
        expect(p.status).toBe(500);
        expect(p.json()).toEqual({ detail: 'Internal Server Error' });
        await othersAnswer(s, { writes: true }); // SQLite files stay writable: conduit ingests

        expect(logged(s, 'sync: storing a payload failed').length).toBe(1);
        const patriotLine = s
          .json()
          .find((l) => l.msg === 'request failed' && (l.err as { code?: string } | undefined)?.code === 'EACCES');
        expect(patriotLine, 'patriot log line').toBeDefined();
        expect(await metric(s.url, 'fieldhub_sync_payloads_total', { source: 'post', result: 'lost' })).toBe(1);
        expect(await metric(s.url, 'fieldhub_http_requests_total', { status: '500' })).toBe(2);
        const n = await http(`${s.url}/sync/notifications`, { headers: SYNC_AUTH });
        expect(
          n
            .json<{ notifications: Array<{ level: string; text: string }> }>()
            .notifications.some((x) => x.level === 'alert' && /Failed to store data .*EACCES/.test(x.text)),
        ).toBe(true);

        // writable again: the next change writes the client's XML (data and state were committed)
        for (const d of ro) chmodSync(d, 0o755);
        const again = await jsonReq(`${s.url}/clients`, 'PATCH', { client_id: 2, info: { Alias: 'x' } }, PAT_A);
        expect(again.status).toBe(200);
        expect(readFileSync(path.join(dir, 'out', 'clients', 'InstA', '2.xml'), 'utf8')).toContain(
          '<Name>client 2</Name>',
        );
        expect((await syncPost(s, 3)).status).toBe(200);
        report('faults.dataDirReadOnly', {
          how: 'server as uid 65534 (setpriv), data dir folders chmod 0555',
          refused: 2,
        });
      } finally {
        for (const d of ro) if (existsSync(d)) chmodSync(d, 0o755);
        await s.stop();
      }
    },
  );

  it.runIf(onPostgres)(
    'folders chmod 0555 under a server run as nobody, on PostgreSQL: sync and patriot write to the database, every module serves',
    async () => {
      const dir = dataDir();
      const s = await startServer({ dataDir: dir, asUser: 65534, name: 'faults-readonly-pg' });
      const ro = [path.join(dir, 'log'), path.join(dir, 'out'), dir].filter((d) => existsSync(d));
      try {
        await conduitUser(s);
        expect((await patriotPut(s, 1)).status).toBe(201);
        expect((await syncPost(s, 1)).status).toBe(200);
        for (const d of ro) chmodSync(d, 0o555);

        expect((await syncPost(s, 2)).status).toBe(200);
        expect((await patriotPut(s, 2)).status).toBe(201);
        await othersAnswer(s, { writes: true });
        expect(logged(s, 'sync: storing a payload failed')).toEqual([]);
        expect(await metric(s.url, 'fieldhub_sync_payloads_total', { source: 'post', result: 'lost' })).toBe(0);
        expect(await metric(s.url, 'fieldhub_http_requests_total', { status: '500' })).toBe(0);
        // what the refused writes were on SQLite is in the database: the payload and the client's XML
        const db = await openStore(dir);
        const payloads = await db.column<number>('SELECT count(*) FROM sync_payloads');
        const xml = await db.column<string>(
          "SELECT xml FROM patriot_client_xml WHERE key_name = 'InstA' AND client_id = 2",
        );
        await db.close();
        expect(payloads).toEqual([2]);
        expect(xml[0]).toContain('<Name>client 2</Name>');
        report('faults.dataDirReadOnlyPg', {
          how: 'server as uid 65534 (setpriv), data dir folders chmod 0555, store on PostgreSQL',
          refused: 0,
        });
      } finally {
        for (const d of ro) if (existsSync(d)) chmodSync(d, 0o755);
        await s.stop();
      }
    },
  );

  it('a data dir that cannot be created (its parent is a file): the CLI exits 1 with the path and the reason', () => {
    const base = scratchDir();
    writeFileSync(path.join(base, 'file'), 'x');
    const cfg = path.join(base, 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        dataDir: path.join(base, 'file', 'data'),
        server: { port: 0 },
        admin: { token: SECRETS.admin },
      }),
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', cfg], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ENOTDIR/);
    expect(r.stderr).toContain(path.join(base, 'file', 'data'));
    expect(secretsIn(r.stdout + r.stderr)).toEqual([]);
  });
});
