/**
 * Crash: kill -9 the real server (a child process) in the middle of concurrent writes, restart it on
 * the same data dir, and check that every request that got a 2xx is in the store / on disk and that
 * nothing is half-written. On PostgreSQL (vitest.resilience.pg.config.ts) the store is the data dir's
 * own database and the files fieldhub owns are rows there (sync_payloads, patriot_client_xml): the
 * same facts are checked on those rows (helpers/db.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { decryptData, encryptData } from '../../src/modules/sync/crypto.js';
import { ControlIdDevice, type DeviceApi } from '../sim/controlid-device.js';
import {
  ADMIN_AUTH,
  http,
  jsonReq,
  loadAndKill,
  pool,
  report,
  SECRETS,
  startServer,
  suiteDataDirs,
} from './helpers/server.js';
import { onPostgres, openStore } from './helpers/db.js';

const { dataDir } = suiteDataDirs();

/** The store the killed process left: the SQLite file, or the data dir's PostgreSQL database. */
const openDb = (dir: string) => openStore(dir);

/**
 * InstA's per-client XML: on SQLite the files of `xmlDir` (every name there, `read` throws for a
 * missing file); on PostgreSQL the rows of patriot_client_xml, by the file name each would have.
 */
async function xmlOf(dir: string, xmlDir: string): Promise<{ names: string[]; read(name: string): string }> {
  if (!onPostgres) return { names: readdirSync(xmlDir), read: (n) => readFileSync(path.join(xmlDir, n), 'utf8') };
  const db = await openDb(dir);
  const rows = await db.all<{ client_id: number; xml: string }>(
    "SELECT client_id, xml FROM patriot_client_xml WHERE key_name = 'InstA'",
  );
  await db.close();
  const byName = new Map(rows.map((r) => [`${r.client_id}.xml`, r.xml]));
  return {
    names: [...byName.keys()],
    read(n) {
      const text = byName.get(n);
      if (text === undefined) throw new Error(`no XML row for ${n}`);
      return text;
    },
  };
}

describe('crash during Conduit ingest', () => {
  it('keeps every acknowledged batch, whole batches only', async () => {
    const dir = dataDir();
    let server = await startServer({ dataDir: dir, name: 'crash-conduit' });
    const mk = await jsonReq(
      `${server.url}/admin/conduit/users`,
      'POST',
      { name: 'crash', token: SECRETS.conduit, sites: ['S1'], throttleSeconds: 0 },
      ADMIN_AUTH,
    );
    expect(mk.status).toBe(201);

    const PER = 100;
    const T0 = 1_700_000_000;
    const batch = (b: number) =>
      Array.from({ length: PER }, (_, j) => ({
        dev_netid: `A${j % 5}`,
        dev_chid: b,
        val_date: T0 + j,
        val_raw: b + j / 1000,
      }));
    const acked = new Set<number>();
    const url = server.url;
    const stats = await loadAndKill(server, {
      concurrency: 8,
      maxOps: 3000,
      maxMs: 15_000,
      killAfterAcks: 300,
      killAfterMs: 4000,
      op: async (b) => {
        const r = await jsonReq(`${url}/conduitv6`, 'POST', batch(b), { 'x-api-key': SECRETS.conduit });
        if (r.status === 200 && r.json<{ accepted: number }>().accepted === PER) {
          acked.add(b);
          return true;
        }
        return false;
      },
    });
    expect(stats.acked).toBeGreaterThan(20);
    expect(stats.refused).toBe(0);
    expect(stats.inFlightAtKill, 'killed with requests in flight').toBeGreaterThan(0);

    // straight from the SQLite file (or the PostgreSQL database) the killed process left
    const db = await openDb(dir);
    const rows = await db.all<{ chid: number; n: number; s: number }>(
      'SELECT chid, count(*) AS n, sum(val_raw) AS s FROM conduit_datapoints GROUP BY chid',
    );
    const check = db.integrityCheck();
    await db.close();
    // PostgreSQL has no integrity_check (it replays its own WAL): there, no batch stored in part (below) is the check
    if (!onPostgres) expect(check).toBe('ok');
    const byChid = new Map(rows.map((r) => [r.chid, r]));
    const partial = rows.filter((r) => r.n !== PER);
    expect(partial, 'batches stored in part').toEqual([]);
    const expectedSum = (b: number) => b * PER + (PER * (PER - 1)) / 2 / 1000;
    for (const b of acked) {
      expect(byChid.get(b)?.n, `acknowledged batch ${b}`).toBe(PER);
      expect(byChid.get(b)!.s).toBeCloseTo(expectedSum(b), 6);
    }
    const storedNotAcked = rows.length - acked.size;

    // the restarted server answers them through the API and takes new data
    server = await startServer({ dataDir: dir, name: 'crash-conduit-restart' });
    const sample = [...acked].slice(0, 5);
    for (const b of sample) {
      const r = await http(`${server.url}/conduitv6?ch=${b}&fcdt=${T0}&tcdt=${T0 + PER}`, {
        headers: { 'x-api-key': SECRETS.conduit },
      });
      expect(r.status).toBe(200);
      expect(r.json<unknown[]>().length).toBe(PER);
    }
    const again = await jsonReq(`${server.url}/conduitv6`, 'POST', batch(999_999), { 'x-api-key': SECRETS.conduit });
    expect(again.status).toBe(200);
    await server.stop();
    report('crash.conduit', {
      ...stats,
      datapointsPerBatch: PER,
      batchesStored: rows.length,
      ackedVerified: acked.size,
      storedNotAcked,
    });
  });
});

describe('crash during Conduit uplink ingest', () => {
  it('keeps every value of every acknowledged V2 uplink and V4 webhook, whole uplinks only', async () => {
    const dir = dataDir();
    let server = await startServer({ dataDir: dir, name: 'crash-conduit-uplink' });
    const mk = await jsonReq(
      `${server.url}/admin/conduit/users`,
      'POST',
      { name: 'gw', token: SECRETS.conduit, sites: ['S1'], plan: 'enterprise' },
      ADMIN_AUTH,
    );
    expect(mk.status).toBe(201);
    const T0 = 1_700_000_000;
    const CHS = 8;
    const DEVICES = 40;
    const netid = (i: number) => `C0FFEE${(i % DEVICES).toString(16).padStart(2, '0').toUpperCase()}`;
    // uplink i: its device, second T0 + i; V2 (even i): channels 1..8 = i + ch / 1000; V4 (odd i): V1 hex of the same
    const v2 = (i: number) => ({
      networkId: netid(i),
      timestamp: (T0 + i) * 1000 + 250,
      data: Array.from({ length: CHS }, (_, c) => ({ channelId: c + 1, value: i + (c + 1) / 1000 })),
    });
    const value = (i: number, c: number) => (i % 2 === 0 ? i + c / 1000 : (i * 1000 + c) / 1000);
    const v1hex = (i: number) => {
      const b = Buffer.alloc(8 + 4 * CHS);
      b.writeUInt16LE(i & 0xffff, 4); // message id
      for (let c = 0; c < CHS; c++) b.writeInt32LE(i * 1000 + c + 1, 8 + 4 * c);
      return b.toString('hex');
    };
    const acked = new Set<number>();
    const url = server.url;
    const stats = await loadAndKill(server, {
      concurrency: 8,
      maxOps: 20_000,
      maxMs: 15_000,
      killAfterAcks: 600,
      killAfterMs: 4000,
      op: async (i) => {
        const r =
          i % 2 === 0
            ? await jsonReq(`${url}/conduitv6/uplink`, 'POST', { token: SECRETS.conduit, ...v2(i) })
            : await http(
                `${url}/conduitv4/post?token=${SECRETS.conduit}&id=${netid(i)}&data=${v1hex(i)}&date=${(T0 + i) * 1000}`,
                { method: 'POST' },
              );
        const want = i % 2 === 0 ? CHS : CHS + 4;
        if (r.status === 200 && r.json<{ accepted: number }>().accepted === want) {
          acked.add(i);
          return true;
        }
        return false;
      },
    });
    expect(acked.size).toBeGreaterThan(20);
    expect(stats.refused).toBe(0);
    expect(stats.inFlightAtKill, 'killed with requests in flight').toBeGreaterThan(0);

    // straight from the SQLite file (or the PostgreSQL database) the killed process left
    const db = await openDb(dir);
    const rows = await db.all<{ netid: string; chid: number; val_date: number; val_raw: number }>(
      `SELECT v.netid, d.chid, d.val_date, d.val_raw FROM conduit_datapoints d JOIN conduit_devices v ON v.id = d.device_id
       WHERE d.chid BETWEEN 1 AND ${CHS}`,
    );
    const check = db.integrityCheck();
    await db.close();
    // PostgreSQL has no integrity_check (it replays its own WAL): there, no uplink stored in part (below) is the check
    if (!onPostgres) expect(check).toBe('ok');
    const stored = new Map<number, Map<number, number>>();
    for (const r of rows) {
      const i = r.val_date - T0;
      expect(r.netid, `datapoint of uplink ${i} on its device`).toBe(netid(i));
      if (!stored.has(i)) stored.set(i, new Map());
      stored.get(i)!.set(r.chid, r.val_raw);
    }
    const partial = [...stored].filter(([, chs]) => chs.size !== CHS).map(([i]) => i);
    expect(partial, 'uplinks stored in part').toEqual([]);
    for (const i of acked) {
      const chs = stored.get(i);
      expect(chs?.size, `acknowledged uplink ${i}`).toBe(CHS);
      for (let c = 1; c <= CHS; c++) expect(chs!.get(c), `uplink ${i} channel ${c}`).toBe(value(i, c));
    }

    // the restarted server answers them through the API
    server = await startServer({ dataDir: dir, name: 'crash-conduit-uplink-restart' });
    const sample = [...acked].slice(0, 5);
    for (const i of sample) {
      const r = await http(`${server.url}/conduitv6?id=${netid(i)}&fcdt=${T0 + i}&tcdt=${T0 + i}&ch=1,2,3,4,5,6,7,8`, {
        headers: { 'x-api-key': SECRETS.conduit },
      });
      expect(r.status).toBe(200);
      expect(r.json<Array<{ val_raw: number }>>().map((p) => p.val_raw)).toEqual(
        Array.from({ length: CHS }, (_, c) => value(i, c + 1)),
      );
    }
    await server.stop();
    report('crash.conduitUplink', {
      ...stats,
      channelsPerUplink: CHS,
      uplinksStored: stored.size,
      ackedVerified: acked.size,
      storedNotAcked: stored.size - acked.size,
    });
  });
});

describe('crash during push result writes', () => {
  it('keeps every acknowledged result; after restart every command ends with exactly one result', async () => {
    const dir = dataDir();
    const cfg = { push: { resultTimeoutSeconds: 1, maxAttempts: 20 } };
    let server = await startServer({ dataDir: dir, config: cfg, name: 'crash-push' });
    const DEVICES = 200;
    const ROUNDS = 3;
    const ids = Array.from({ length: DEVICES }, (_, i) => String(1000 + i));
    for (let r = 0; r < ROUNDS; r++) {
      const q = await jsonReq(
        `${server.url}/admin/push/commands`,
        'POST',
        { deviceIds: ids, endpoint: 'load_objects', body: { round: r } },
        ADMIN_AUTH,
      );
      expect(q.status).toBe(201);
    }
    const TOTAL = DEVICES * ROUNDS;

    /**
     * One step of a simulated Control iD device (firmware mode: its own uuid on /push and /result,
     * `response` as a JSON string, endpoint in the query; no retry here, the load driver counts).
     * true = nothing to do, or a result was acknowledged.
     */
    const acked = new Map<string, string>();
    let phase = 'before';
    const api: DeviceApi = (c) => JSON.stringify({ dev: c.deviceId, body: c.body, phase });
    const devices = new Map(
      ids.map((id) => [
        id,
        new ControlIdDevice({
          remoteAddress: server.url,
          deviceId: id,
          resultRetries: 0,
          requestTimeoutMs: 10_000,
          api,
        }),
      ]),
    );
    const step = async (base: string, dev: string): Promise<boolean> => {
      const d = devices.get(dev)!;
      d.remoteAddress = base;
      const e = await d.cycle();
      if (!e) return true;
      if (!e.acked) return false;
      if (phase === 'before') acked.set(e.command.uuid!, e.answer);
      return true;
    };

    const url1 = server.url;
    const stats = await loadAndKill(server, {
      concurrency: 24,
      maxOps: 20_000,
      maxMs: 15_000,
      killAfterAcks: 350,
      killAfterMs: 4000,
      op: (i) => step(url1, ids[i % DEVICES]!),
    });
    expect(acked.size).toBeGreaterThan(20);
    expect(stats.inFlightAtKill, 'killed with requests in flight').toBeGreaterThan(0);

    // the file (or the PostgreSQL database) the killed process left
    let db = await openDb(dir);
    const cmds = await db.all<{
      seq: number;
      id: string;
      status: string;
      response: string | null;
      attempts: number;
      finished_at: string | null;
      deadline_at: string | null;
    }>('SELECT seq, id, status, response, attempts, finished_at, deadline_at FROM push_commands');
    const events = await db.all<{ command_seq: number; status: string }>(
      'SELECT command_seq, status FROM push_command_events',
    );
    await db.close();
    expect(cmds.length).toBe(TOTAL);
    const evOf = new Map<number, string[]>();
    for (const e of events) evOf.set(e.command_seq, [...(evOf.get(e.command_seq) ?? []), e.status]);
    for (const c of cmds) {
      const ev = evOf.get(c.seq) ?? [];
      if (c.status === 'done') {
        expect(c.response, `command ${c.id} done without its response`).not.toBeNull();
        expect(c.finished_at).not.toBeNull();
        expect(ev.filter((s) => s === 'done').length).toBe(1);
      } else if (c.status === 'delivered') {
        expect(c.attempts).toBeGreaterThan(0);
        expect(c.deadline_at).not.toBeNull();
        expect(ev).toContain('delivered');
        expect(ev).not.toContain('done');
      } else {
        expect(c.status).toBe('queued');
        expect(ev).not.toContain('done');
      }
    }
    const byId = new Map(cmds.map((c) => [c.id, c]));
    for (const [uuid, answer] of acked) {
      const c = byId.get(uuid)!;
      expect(c.status, `acknowledged result of ${uuid}`).toBe('done');
      expect(c.response).toBe(answer); // the device's response string, byte-exact
    }
    const doneAtKill = cmds.filter((c) => c.status === 'done').length;
    const inFlightAtKill = cmds.filter((c) => c.status === 'delivered').length;

    // restart: the devices carry on until every command has its result (redelivery after the 1 s timeout)
    server = await startServer({ dataDir: dir, config: cfg, name: 'crash-push-restart' });
    const url2 = server.url;
    phase = 'after';
    const t0 = Date.now();
    let finished = false;
    while (!finished && Date.now() - t0 < 30_000) {
      await pool(DEVICES, 24, async (i) => {
        await step(url2, ids[i]!);
      });
      const d = await http(`${url2}/admin/push/devices`, { headers: ADMIN_AUTH });
      const devs = d.json<{ devices: Array<{ queued: number; inFlight: boolean }> }>().devices;
      finished = devs.every((x) => x.queued === 0 && !x.inFlight);
    }
    expect(finished, 'every command finished after the restart').toBe(true);
    await server.stop();

    db = await openDb(dir);
    const after = await db.all<{ seq: number; id: string; status: string; response: string }>(
      'SELECT seq, id, status, response FROM push_commands',
    );
    const doneEvents = await db.all<{ command_seq: number; n: number }>(
      "SELECT command_seq, count(*) AS n FROM push_command_events WHERE status = 'done' GROUP BY command_seq",
    );
    const unmatched = (await db.column<number>('SELECT count(*) AS n FROM push_unmatched_results'))[0]!;
    await db.close();
    expect(after.filter((c) => c.status !== 'done')).toEqual([]);
    expect(doneEvents.length).toBe(TOTAL);
    expect(doneEvents.every((e) => e.n === 1)).toBe(true);
    for (const [uuid, answer] of acked) {
      const c = after.find((x) => x.id === uuid)!;
      expect(c.response).toBe(answer); // never overwritten
    }
    report('crash.push', {
      ...stats,
      commands: TOTAL,
      resultsAcked: acked.size,
      doneInFile: doneAtKill,
      deliveredUnansweredAtKill: inFlightAtKill,
      unmatchedAfterRestart: unmatched,
      finishMs: Date.now() - t0,
    });
  });
});

describe('crash during sync POSTs', () => {
  it('keeps every acknowledged payload; every stored file is whole; all processed after restart', async () => {
    const dir = dataDir();
    let server = await startServer({ dataDir: dir, name: 'crash-sync' });
    const PER = 5;
    const macOf = (i: number, j: number) =>
      `02:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:00:${j.toString(16).padStart(2, '0')}`;
    const payload = (i: number) =>
      JSON.stringify({
        data: Array.from({ length: PER }, (_, j) => ({
          devMac: macOf(i, j),
          devName: `dev-${i}-${j}`,
          devLastIP: `10.0.${i & 255}.${j}`,
        })),
      });
    const acked = new Set<number>();
    const url = server.url;
    const stats = await loadAndKill(server, {
      concurrency: 8,
      maxOps: 5000,
      maxMs: 15_000,
      killAfterAcks: 250,
      killAfterMs: 4000,
      op: async (i) => {
        const body = new URLSearchParams({
          data: encryptData(payload(i), SECRETS.passphrase),
          node_name: `node${i % 4}`,
          plugin: 'SYNC',
        });
        const r = await http(`${url}/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${SECRETS.sync}` },
          body,
        });
        if (r.status === 200) acked.add(i);
        return r.status === 200;
      },
    });
    expect(acked.size).toBeGreaterThan(20);
    expect(stats.refused).toBe(0);
    expect(stats.inFlightAtKill, 'killed with requests in flight').toBeGreaterThan(0);

    // on disk, as the killed process left it: every file under a hub name is whole
    const pluginDir = path.join(dir, 'log', 'plugins');
    const checkFiles = () => {
      const names = readdirSync(pluginDir);
      const hubNames = names.filter((n) => n.endsWith('.log'));
      const temps = names.filter((n) => !n.endsWith('.log'));
      let encoded = 0;
      for (const n of hubNames) {
        const text = readFileSync(path.join(pluginDir, n), 'utf8');
        if (n.startsWith('last_result.SYNC.encoded.')) {
          encoded++;
          expect(() => JSON.parse(decryptData(text, SECRETS.passphrase)), `encoded file ${n}`).not.toThrow();
        } else if (n.startsWith('processed_last_result.')) {
          expect(() => JSON.parse(text), `processed file ${n}`).not.toThrow();
        } else {
          expect(n, 'no failed payloads').not.toMatch(/^failed_/);
        }
      }
      return {
        files: hubNames.length,
        encoded,
        temps: temps.length,
        decoded: hubNames.filter((n) => n.includes('.decoded.')).length,
      };
    };
    // PostgreSQL: a payload is a row of sync_payloads under its encoded file name, committed with its
    // sync_received row (docs/sync.md), and nothing is written under log/plugins. The same facts on
    // the rows: each row has its payload, every payload is whole, none failed; "encoded" = still to
    // process; any file under log/plugins would be a leftover (temps, decoded copies)
    const checkRows = async () => {
      const db = await openDb(dir);
      const payloads = await db.all<{ name: string; data: Buffer; status: string }>(
        'SELECT p.name, p.data, r.status FROM sync_payloads p JOIN sync_received r ON r.id = p.id',
      );
      const withoutPayload = await db.column<number>(
        'SELECT id FROM sync_received r WHERE NOT EXISTS (SELECT 1 FROM sync_payloads p WHERE p.id = r.id)',
      );
      await db.close();
      expect(withoutPayload, 'received rows without their payload').toEqual([]);
      let encoded = 0;
      for (const p of payloads) {
        expect(p.name, 'a payload received here keeps its encoded name').toMatch(/^last_result\.SYNC\.encoded\./);
        expect(
          () => JSON.parse(decryptData(p.data.toString('utf8'), SECRETS.passphrase)),
          `payload ${p.name}`,
        ).not.toThrow();
        expect(p.status, `no failed payloads (${p.name})`).not.toBe('failed');
        if (p.status === 'received') encoded++;
      }
      const files = existsSync(pluginDir) ? readdirSync(pluginDir) : [];
      return {
        files: payloads.length,
        encoded,
        temps: files.length,
        decoded: files.filter((n) => n.includes('.decoded.')).length,
      };
    };
    const check = async () => (onPostgres ? checkRows() : checkFiles());
    // a decoded copy (not fsynced, rewritten at reprocessing) may be cut by the kill: checked after the restart
    const atKill = await check();

    server = await startServer({ dataDir: dir, name: 'crash-sync-restart' });
    const p = await http(`${server.url}/admin/sync/process`, {
      method: 'POST',
      headers: ADMIN_AUTH,
      timeoutMs: 60_000,
    });
    expect(p.status).toBe(200);
    expect(p.json<{ pending: number }>().pending).toBe(0);
    const afterRestart = await check();
    expect(afterRestart.encoded).toBe(0);
    expect(afterRestart.decoded).toBe(0);
    expect(afterRestart.temps, 'temp files of interrupted writes are removed at start-up').toBe(0);
    await server.stop();

    const db = await openDb(dir);
    const status = await db.all<{ status: string; n: number }>(
      'SELECT status, count(*) AS n FROM sync_received GROUP BY status',
    );
    const macs = new Set(await db.column<string>('SELECT mac FROM sync_devices'));
    const nodes = new Map(
      (await db.all<{ mac: string; sync_hub_node: string }>('SELECT mac, sync_hub_node FROM sync_devices')).map((r) => [
        r.mac,
        r.sync_hub_node,
      ]),
    );
    await db.close();
    const count = Object.fromEntries(status.map((s) => [s.status, s.n]));
    expect(count.failed ?? 0).toBe(0);
    expect(count.received ?? 0).toBe(0);
    expect(count.processed ?? 0).toBeGreaterThanOrEqual(acked.size);
    for (const i of acked) {
      for (let j = 0; j < PER; j++) {
        expect(macs.has(macOf(i, j)), `device ${macOf(i, j)} of acknowledged payload ${i}`).toBe(true);
        expect(nodes.get(macOf(i, j))).toBe(`node${i % 4}`);
      }
    }
    // the store stayed where it was (on PostgreSQL the database: no SQLite file beside it)
    expect(existsSync(path.join(dir, 'fieldhub.sqlite'))).toBe(!onPostgres);
    const tidied = server.json().find((l) => typeof l.msg === 'string' && l.msg.startsWith('sync: tidied'));
    report('crash.sync', {
      ...stats,
      tidiedAtStartup: tidied ? { temps: tidied.temps, finished: tidied.finished } : null,
      payloadsAcked: acked.size,
      devicesVerified: acked.size * PER,
      receivedRows: count,
      filesAtKill: atKill,
      filesAfterRestart: afterRestart,
    });
  });
});

describe('crash during Patriot API writes', () => {
  it('every acknowledged client is in SQLite with its state row and a whole XML file', async () => {
    const dir = dataDir();
    let server = await startServer({ dataDir: dir, name: 'crash-patriot' });
    const auth = { authorization: `Bearer ${SECRETS.patriotA}` };
    const acked = new Set<number>();
    const url = server.url;
    const stats = await loadAndKill(server, {
      concurrency: 8,
      maxOps: 3000,
      maxMs: 15_000,
      killAfterAcks: 200,
      killAfterMs: 4000,
      op: async (i) => {
        const id = i + 1;
        const r = await jsonReq(`${url}/clients`, 'PUT', { client_id: id, info: { Name: `client ${id} <&>` } }, auth);
        if (r.status === 201) acked.add(id);
        return r.status === 201;
      },
    });
    expect(acked.size).toBeGreaterThan(20);
    expect(stats.refused).toBe(0);
    expect(stats.inFlightAtKill, 'killed with requests in flight').toBeGreaterThan(0);

    const db = await openDb(dir);
    const clients = new Set(await db.column<number>("SELECT client_id FROM patriot_clients WHERE key_name = 'InstA'"));
    const states = new Map(
      (
        await db.all<{ client_id: number; status: string; xml_version: number }>(
          "SELECT client_id, status, xml_version FROM patriot_client_state WHERE key_name = 'InstA'",
        )
      ).map((r) => [r.client_id, r]),
    );
    await db.close();
    const xmlDir = path.join(dir, 'out', 'clients', 'InstA');
    let xml = await xmlOf(dir, xmlDir);
    const names = xml.names;
    const files = names.filter((n) => /^\d+\.xml$/.test(n));
    for (const n of files) {
      const text = xml.read(n);
      expect(XMLValidator.validate(text), `${n} parses`).toBe(true);
    }
    for (const id of acked) {
      expect(clients.has(id), `client ${id} in the store`).toBe(true);
      expect(states.get(id)?.status).toBe('changed');
      expect(xml.read(`${id}.xml`)).toContain(`<Name>client ${id} &lt;&amp;&gt;</Name>`);
    }
    for (const id of clients) expect(states.has(id), `state row of client ${id}`).toBe(true); // same transaction
    // a client committed but not acknowledged may lack its file until the restart (repaired at start-up)
    const committedWithoutFile = [...clients].filter((id) => !files.includes(`${id}.xml`)).length;
    // PostgreSQL: the XML row is written in the client's transaction (writes-pg.ts), nothing to repair
    if (onPostgres) expect(committedWithoutFile, 'committed clients without their XML row').toBe(0);
    const temps = names.filter((n) => !/^\d+\.xml$/.test(n)).length;

    server = await startServer({ dataDir: dir, name: 'crash-patriot-restart' });
    for (const id of [...acked].slice(0, 5)) {
      const g = await http(`${server.url}/clients`, { headers: { ...auth, 'x-client-id': String(id) } });
      expect(g.status).toBe(200);
    }
    await server.stop();
    // start-up repair: temp files gone, every committed client has its (whole) file
    xml = await xmlOf(dir, xmlDir);
    const after = xml.names;
    expect(
      after.filter((n) => !/^\d+\.xml$/.test(n)),
      'temp files after the restart',
    ).toEqual([]);
    for (const id of clients) expect(XMLValidator.validate(xml.read(`${id}.xml`)), `file of client ${id}`).toBe(true);
    const repaired = server.json().find((l) => typeof l.msg === 'string' && l.msg.startsWith('patriot: repaired'));
    report('crash.patriotApi', {
      ...stats,
      clientsAcked: acked.size,
      clientsInStore: clients.size,
      committedWithoutFile,
      tempFilesLeft: temps,
      repairedAtStartup: repaired ? { temps: repaired.temps, rewritten: repaired.rewritten } : null,
    });
  });
});
