/**
 * Mixed workload, all at once for 60 s (MIXED_SECONDS to change) against one fieldhub:
 *   - 1,000 Control iD devices polling GET /push, each waiting 1 s after its answer (bench/devices.ts);
 *   - 10 Conduit writers POSTing 200-datapoint JSON batches as fast as they are answered;
 *   - Patriot CRUD: 4 connections cycling PUT client, PUT zone, POST user, GET client;
 *   - a NetAlertX node POSTing /sync (form-encoded, 50 devices) every second.
 * Reports per route the rate, p50/p99 and failures, the server's peak RSS, and checks afterwards
 * that what was acknowledged is in the store. A bare route is not meaningful for a mix, so the
 * ratio column stays empty here; the per-module benches carry the ratios.
 *   node --import tsx bench/mixed.ts
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { Users } from '../src/modules/conduit/users.js';
import { pollDevicesInChild } from './devices.js';
import {
  eventLoopDelay,
  isMain,
  load,
  printTable,
  row,
  startFieldhub,
  type BenchRow,
  type LoadResult,
  writePatriotKey,
} from './lib.js';

const SECONDS = Number(process.env.MIXED_SECONDS ?? 60);
const DEVICES = 1000;
const CONDUIT_TOKEN = 'mixed-conduit-token-0123456789';
const PATRIOT_KEY = 'mixed-patriot-key-0123456789';
const SYNC_TOKEN = 'mixed-sync-token';

function prepare(dataDir: string): void {
  writePatriotKey(dataDir, 'Mixed', PATRIOT_KEY);
  const store = openStore(
    loadConfig({
      file: path.join(import.meta.dirname, '../test/helpers/empty-config.json'),
      env: {},
      overrides: { dataDir },
    }),
  );
  new Users(store.db).add({ name: 'mixed', token: CONDUIT_TOKEN, sites: ['Site'], throttleSeconds: 0 });
  store.close();
}

/** TcpExt ListenOverflows of this host (/proc/net/netstat): connections dropped at a full listen queue. */
function listenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:') && l.includes('ListenOverflows'));
    const names = lines[i]!.split(' ');
    return Number(lines[i + 1]!.split(' ')[names.indexOf('ListenOverflows')]);
  } catch {
    return NaN;
  }
}

/** Upper bound (bucket edge) of the server-side p99 of one route, from its /metrics histogram. */
async function serverP99Ms(url: string, route: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const re = new RegExp(
    `^fieldhub_http_request_duration_seconds_bucket\\{le="([^"]+)",method="GET",route="${route}",status="200"\\} (\\d+)$`,
    'gm',
  );
  const b = [...text.matchAll(re)].map((m) => ({ le: m[1]!, n: Number(m[2]) }));
  const total = b.at(-1)?.n ?? 0;
  const hit = b.find((x) => x.n >= total * 0.99);
  return hit ? (hit.le === '+Inf' ? '> 10 s' : `<= ${Number(hit.le) * 1000} ms`) : '?';
}

function conduitRequests() {
  let batch = 0;
  return [
    {
      method: 'POST',
      path: '/conduitv6',
      headers: { 'content-type': 'application/json', 'x-api-key': CONDUIT_TOKEN },
      setupRequest: (req: Record<string, unknown>) => {
        const b = batch++;
        const pts = [];
        for (let i = 0; i < 200; i++) {
          pts.push({
            dev_netid: `C0FFEE${(b % 10).toString(16).padStart(4, '0')}`,
            dev_chid: (i % 4) + 1,
            val_date: 1_700_000_000 + b * 50 + Math.floor(i / 4),
            val_raw: i / 10,
          });
        }
        return { ...req, body: JSON.stringify(pts) };
      },
    },
  ];
}

function patriotRequests() {
  let next = 0;
  const h = { 'content-type': 'application/json', authorization: `Bearer ${PATRIOT_KEY}` };
  type Ctx = { id?: number };
  return [
    {
      method: 'PUT',
      path: '/clients',
      headers: h,
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => {
        ctx.id = ++next;
        return {
          ...req,
          body: JSON.stringify({
            client_id: ctx.id,
            info: { Name: `Kunde ${ctx.id}`, Location: 'Storgata 1', area: 'Fredrikstad' },
          }),
        };
      },
    },
    {
      method: 'PUT',
      path: '/clients/zones',
      headers: h,
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => ({
        ...req,
        body: JSON.stringify({ client_id: ctx.id, zone_id: 1, Zone_area: 'Inngang', ModuleNo: 0 }),
      }),
    },
    {
      method: 'POST',
      path: '/clients/users',
      headers: h,
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => ({
        ...req,
        body: JSON.stringify({
          client_id: ctx.id,
          user: {
            User_Name: 'Bruker',
            MobileNo: '+4712345678',
            MobileNoOrder: 1,
            Email: 'b@example.no',
            Type: 'U',
            UserNo: 1,
            Instructions: '',
            CallOrder: 1,
          },
        }),
      }),
    },
    {
      method: 'GET',
      path: '/clients',
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => ({
        ...req,
        headers: { authorization: h.authorization, 'x-client-id': String(ctx.id) },
      }),
    },
  ];
}

/** One sync POST a second, sequentially, for `seconds`. */
async function syncLoop(url: string, seconds: number): Promise<LoadResult & { acked: number }> {
  const lat: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end) {
    const tick = Date.now();
    const devices = Array.from({ length: 50 }, (_, i) => ({
      devMac: `02:00:00:00:${(n % 256).toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`,
      devName: `dev ${i}`,
      devLastIP: `10.0.${n % 256}.${i}`,
    }));
    const body = new URLSearchParams({
      data: JSON.stringify({ data: devices }),
      node_name: 'MIXED-NODE',
      plugin: 'SYNC',
    });
    const t = performance.now();
    try {
      const r = await fetch(`${url}/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SYNC_TOKEN}` },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await r.arrayBuffer();
      if (r.status !== 200) non2xx++;
    } catch {
      errors++;
    }
    lat.push(performance.now() - t);
    n++;
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0);
  return {
    requests: n,
    rps: n / seconds,
    p50: q(0.5),
    p99: q(0.99),
    errors,
    non2xx,
    durationS: seconds,
    acked: n - errors - non2xx,
  };
}

export async function run(): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-mixed-'));
  prepare(dataDir);
  const fh = await startFieldhub({ sync: { apiToken: SYNC_TOKEN }, conduit: { throttleSeconds: 0 } }, { dataDir });
  try {
    await eventLoopDelay(fh.url); // restart the server's event-loop delay histogram
    const overflows0 = listenOverflows();
    const [push, conduit, patriot, sync] = await Promise.all([
      // each device polls, waits its push_request_period (1 s) after the answer, polls again; in a
      // process of its own, so that the other generators' work is not in the devices' latency
      pollDevicesInChild({ url: fh.url, devices: DEVICES, seconds: SECONDS }),
      load({ url: fh.url, connections: 10, eld: false, duration: SECONDS, requests: conduitRequests() as never }),
      load({ url: fh.url, connections: 4, eld: false, duration: SECONDS, requests: patriotRequests() as never }),
      syncLoop(fh.url, SECONDS),
    ]);
    const eld = await eventLoopDelay(fh.url);
    const overflows = listenOverflows() - overflows0;
    const pushServerP99 = await serverP99Ms(fh.url, '/push');
    // what was acknowledged is in the store
    const db = new Database(path.join(dataDir, 'fieldhub.sqlite'), { readonly: true });
    const datapoints = (db.prepare('SELECT count(*) AS n FROM conduit_datapoints').get() as { n: number }).n;
    const clients = (db.prepare('SELECT count(*) AS n FROM patriot_clients').get() as { n: number }).n;
    db.close();
    const withEld = (r: BenchRow): BenchRow => ({ ...r, eldP99Ms: eld?.p99 });
    const rows: BenchRow[] = [
      {
        ...row('mixed', `GET /push, ${DEVICES} devices at ~1 poll/s each`, push, undefined, fh),
        note: eld
          ? `server event-loop delay over the run: p50 ${eld.p50} ms, p99 ${eld.p99} ms, max ${eld.max} ms; load generator's: p99 ${push.generatorEldP99Ms} ms, max ${push.generatorEldMaxMs} ms; ${push.overTimeout} polls over the device's 4 s timeout; server-side /push p99 ${pushServerP99}; ${overflows} connections dropped at a full listen queue (TcpExt ListenOverflows)`
          : '',
      },
      {
        ...row('mixed', 'POST /conduitv6, 10 writers x 200 datapoints', conduit, undefined, fh),
        note: `${datapoints} datapoints stored (${Math.round(datapoints / SECONDS)}/s)`,
      },
      {
        ...row('mixed', 'Patriot PUT client/PUT zone/POST user/GET, 4 conns', patriot, undefined, fh),
        note: `${clients} clients stored`,
      },
      {
        ...row('mixed', 'POST /sync (50 devices) every second', sync, undefined, fh),
        note: `${sync.acked} acknowledged`,
      },
    ];
    // the conduit writers re-send the same (device, channel, time) keys after 10 batches only when
    // batch numbers wrap, which they do not within a run: every accepted datapoint is a row
    rows.forEach((r, i) => (rows[i] = withEld(r)));
    const expectedDatapoints = (conduit.requests - conduit.non2xx - conduit.errors) * 200;
    if (datapoints < expectedDatapoints) rows[1]!.note += ` — MISSING ${expectedDatapoints - datapoints}`;
    return rows;
  } finally {
    await fh.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printTable(await run());
