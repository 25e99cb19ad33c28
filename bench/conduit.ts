/**
 * Conduit: ingest throughput (datapoints/s over batched gzip POSTs, against a bare Fastify route
 * that only inflates and parses the same bodies), AlphaX V2 uplinks (32 channels, 1,000 devices,
 * one uplink per request: datapoints/s against the bulk ingest of the same run) and a 10,000-datapoint query on a table of
 * 10 million datapoints (ms, against the same SELECT run directly with better-sqlite3 plus
 * JSON.stringify in this process). The table is generated straight into the data dir first.
 *
 *   node --import tsx bench/conduit.ts        (CONDUIT_BENCH_ROWS=1000000 for a quick run)
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { openStore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { Users } from '../src/modules/conduit/users.js';
import {
  isMain,
  load,
  printTable,
  row,
  startBare,
  startFieldhub,
  type BenchRow,
  type LoadResult,
  type ServerHandle,
} from './lib.js';

const ROWS = Number(process.env.CONDUIT_BENCH_ROWS ?? 10_000_000);
const TOKEN = 'bench-conduit-token-0123456789';
const DEVICES = 250;
const CHANNELS = 4;
const START = 1_600_000_000;
const SERIES = DEVICES * CHANNELS;
const MINUTES = Math.ceil(ROWS / SERIES);
const netid = (d: number) => (0x70b3d54990000000n + BigInt(d)).toString(16).toUpperCase();

/** Writes users, 250 devices x 4 channels and `rows` datapoints (one per channel per minute) into dataDir. */
export const netidOf = (d: number) => netid(d);
export const GEN = { START, DEVICES, CHANNELS, TOKEN };

export function generate(dataDir: string, rows = ROWS): { ms: number; rows: number } {
  const t0 = Date.now();
  const minutesN = Math.ceil(rows / SERIES);
  const config = loadConfig({
    file: path.join(import.meta.dirname, '../test/helpers/empty-config.json'),
    env: {},
    overrides: { dataDir },
  });
  const store = openStore(config);
  new Users(store.db).add({ name: 'bench', token: TOKEN, sites: ['North', 'South'], throttleSeconds: 0 });
  store.close();
  const db = new Database(path.join(dataDir, 'fieldhub.sqlite'));
  db.pragma('synchronous = OFF');
  const site = (name: string) =>
    (db.prepare('SELECT id FROM conduit_sites WHERE name = ?').get(name) as { id: number }).id;
  const [north, south] = [site('North'), site('South')];
  const dev = db.prepare(
    `INSERT INTO conduit_devices (id, netid, site_id, tag, type, label, category, powersource, manufacturer, supplier, model, serial, network, lat, lng)
     VALUES (?, ?, ?, ?, 'device', 'Active', 'Device', 'Solar', 'Minnovation', 'Minnovation', 'X1 Analog to Digital Sensor', ?, 'The Things Network', ?, ?)`,
  );
  const ch = db.prepare('INSERT INTO conduit_channels (device_id, chid, type, description) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let d = 1; d <= DEVICES; d++) {
      dev.run(d, netid(d), d % 2 ? north : south, `Gateway ${d}`, netid(d), 49 + d / 1000, 8 + d / 1000);
      for (let c = 1; c <= CHANNELS; c++) ch.run(d, c, 'Voltage', `Battery Bank ${c}`);
    }
  })();
  const ins = db.prepare('INSERT INTO conduit_datapoints (device_id, chid, val_date, val_raw) VALUES (?, ?, ?, ?)');
  const minutes = db.transaction((m0: number, m1: number) => {
    for (let m = m0; m < m1; m++) {
      const t = START + m * 60;
      for (let d = 1; d <= DEVICES; d++)
        for (let c = 1; c <= CHANNELS; c++) ins.run(d, c, t, ((m * 7 + d + c) % 5000) / 1000);
    }
  });
  for (let m = 0; m < minutesN; m += 500) minutes(m, Math.min(minutesN, m + 500));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { ms: Date.now() - t0, rows: minutesN * SERIES };
}

/** gzip bodies of `perBody` datapoints each, new devices and times after the generated range */
export function ingestBodies(count: number, perBody: number): Buffer[] {
  const bodies: Buffer[] = [];
  const devs = 50;
  const minutesPerBody = perBody / (devs * CHANNELS);
  for (let b = 0; b < count; b++) {
    const pts = [];
    for (let m = 0; m < minutesPerBody; m++) {
      const t = START + (MINUTES + b * minutesPerBody + m) * 60;
      for (let d = 0; d < devs; d++) {
        for (let c = 1; c <= CHANNELS; c++)
          pts.push({
            dev_netid: `AB${d.toString(16).padStart(4, '0')}`,
            dev_chid: c,
            val_date: t,
            val_raw: (m + d + c) / 10,
            dev_site: 'North',
          });
      }
    }
    bodies.push(gzipSync(JSON.stringify(pts)));
  }
  return bodies;
}

const UPLINK_DEVICES = 1000;
const UPLINK_CHANNELS = 32;

/** V2 uplinks (AlphaX Uplink Data Format V2): `count` bodies, devices in turn, one minute apart per device */
export function uplinkBodies(count: number): string[] {
  const bodies: string[] = [];
  for (let k = 0; k < count; k++) {
    const d = k % UPLINK_DEVICES;
    const minute = MINUTES + 100_000 + Math.floor(k / UPLINK_DEVICES);
    bodies.push(
      JSON.stringify({
        networkId: `AC${d.toString(16).padStart(6, '0')}`,
        timestamp: (START + minute * 60) * 1000,
        data: Array.from({ length: UPLINK_CHANNELS }, (_, c) => ({ channelId: c + 1, value: (d + c + k) / 100 })),
      }),
    );
  }
  return bodies;
}

async function ingestLoad(url: string, bodies: Buffer[], headers: Record<string, string>): Promise<LoadResult> {
  let i = 0;
  return load({
    url,
    connections: 4,
    amount: bodies.length,
    requests: [
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }),
      },
    ],
  });
}

/** The same answer the API gives, straight from SQLite: one SELECT with the metadata joined, then JSON.stringify. */
export function directQuery(
  file: string,
  q: { from: number; to: number; ids?: string[] },
): { ms: number; count: number } {
  const db = new Database(file, { readonly: true });
  const cols = `d.val_date, v.netid AS dev_netid, d.chid AS dev_chid, d.val_raw, c.type AS val_type, v.tag AS dev_tag,
    c.description AS val_description, s.name AS dev_site, c.cal AS val_cal, c.offset AS val_offset, v.error AS dev_error,
    v.type AS dev_type, v.label AS dev_label, v.category AS dev_category, v.powersource AS dev_powersource,
    v.manufacturer AS dev_manufacturer, v.supplier AS dev_supplier, v.model AS dev_model, v.serial AS dev_serial,
    v.network AS dev_network, v.lat AS loc_lat, v.lng AS loc_lng,
    d.val_raw * (CASE WHEN c.cal = 0 THEN 1 ELSE c.cal END) + c.offset AS val_calibrated`;
  const visible = 'v.site_id IN (SELECT site_id FROM conduit_user_sites WHERE user_id = 1)';
  const sql = q.ids
    ? `SELECT ${cols} FROM conduit_devices v CROSS JOIN conduit_channels c ON c.device_id = v.id
         CROSS JOIN conduit_datapoints d ON d.device_id = c.device_id AND d.chid = c.chid JOIN conduit_sites s ON s.id = v.site_id
       WHERE v.netid IN (SELECT value FROM json_each(@ids)) AND ${visible} AND d.val_date BETWEEN @from AND @to
       ORDER BY d.val_date, v.netid, d.chid LIMIT 10001`
    : `SELECT ${cols} FROM conduit_datapoints d INDEXED BY conduit_datapoints_date JOIN conduit_devices v ON v.id = d.device_id
         JOIN conduit_channels c ON c.device_id = d.device_id AND c.chid = d.chid JOIN conduit_sites s ON s.id = v.site_id
       WHERE d.val_date BETWEEN @from AND @to AND ${visible}
       ORDER BY d.val_date, v.netid, d.chid LIMIT 10001`;
  const stmt = db.prepare(sql);
  const params = { from: q.from, to: q.to, ...(q.ids ? { ids: JSON.stringify(q.ids) } : {}) };
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i < 25; i++) {
    const t = performance.now();
    const rows = stmt.all(params);
    count = rows.length;
    JSON.stringify(rows);
    times.push(performance.now() - t);
  }
  db.close();
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, count };
}

export async function run(): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-conduit-'));
  const rows: BenchRow[] = [];
  let fh: Awaited<ReturnType<typeof startFieldhub>> | undefined;
  let bare: Awaited<ReturnType<typeof startBare>> | undefined;
  try {
    const gen = generate(dataDir);
    console.error(`conduit bench: generated ${gen.rows} datapoints in ${(gen.ms / 1000).toFixed(1)} s`);
    const server = (fh = await startFieldhub({ conduit: { throttleSeconds: 0 } }, { dataDir }));
    const bareServer = (bare = await startBare());
    const headers = { 'x-api-key': TOKEN };

    // ingest: 5,000 datapoints per gzip POST, 4 connections (SQLite serializes the writes)
    const PER = 5000;
    const bodies = ingestBodies(300, PER);
    /** server CPU time (all its threads) per datapoint, µs: the stable figure on a shared machine */
    const cpuPer = async (s: ServerHandle, points: (r: LoadResult) => number, run: () => Promise<LoadResult>) => {
      const c0 = s.cpuMs();
      const r = await run();
      return { r, cpuUs: ((s.cpuMs() - c0) * 1000) / points(r) };
    };
    const perBody = (r: LoadResult) => r.requests * PER;
    const { r: b, cpuUs: bareCpu } = await cpuPer(bareServer, perBody, () =>
      ingestLoad(`${bareServer.url}/bare/conduit/ingest`, bodies, headers),
    );
    const { r: f, cpuUs: fhCpu } = await cpuPer(server, perBody, () =>
      ingestLoad(`${server.url}/conduitv6`, bodies, headers),
    );
    const ingest = row(
      'conduit',
      `POST gzip, ${PER} datapoints/request, into ${(gen.rows / 1e6).toFixed(1)}M rows`,
      f,
      b,
      fh,
    );
    const dps = (r: LoadResult) => (r.requests * PER) / r.durationS;
    Object.assign(ingest, {
      rate: Math.round(dps(f)),
      unit: 'datapoints/s',
      bareRate: Math.round(dps(b)),
      ratio: Number((dps(f) / dps(b)).toFixed(3)),
    });
    rows.push(ingest);

    // AlphaX senders: one V2 uplink of 32 channels per request from 1,000 (new) devices, plain JSON
    const up = uplinkBodies(UPLINK_DEVICES * 20);
    let u = 0;
    const { r: ul, cpuUs: uplinkCpu } = await cpuPer(
      server,
      (r) => r.requests * UPLINK_CHANNELS,
      () =>
        load({
          url: `${server.url}/conduitv6/uplink`,
          connections: 16,
          amount: up.length,
          requests: [
            {
              method: 'POST',
              headers: { ...headers, 'content-type': 'application/json' },
              setupRequest: (req) => ({ ...req, body: up[u++ % up.length] }),
            },
          ],
        }),
    );
    if (ul.errors + ul.non2xx > 0) throw new Error(`uplinks: ${ul.errors} errors, ${ul.non2xx} non-2xx`);
    const uplinkRow = row(
      'conduit',
      `POST V2 uplinks, ${UPLINK_CHANNELS} channels, ${UPLINK_DEVICES} devices, 16 connections (ratio: vs bulk ingest)`,
      ul,
      undefined,
      fh,
    );
    const uplinkDps = (ul.requests * UPLINK_CHANNELS) / ul.durationS;
    Object.assign(uplinkRow, {
      rate: Math.round(uplinkDps),
      unit: 'datapoints/s',
      bareRate: Math.round(dps(f)),
      ratio: Number((uplinkDps / dps(f)).toFixed(3)),
      note:
        `${ul.requests} uplinks (${Math.round(ul.rps)} req/s), server CPU ${uplinkCpu.toFixed(1)} µs/datapoint; ` +
        'bare = the bulk ingest above, same run',
    });
    rows.push(uplinkRow);

    // queries of exactly 10,000 datapoints out of the generated table
    const mid = START + Math.floor(MINUTES / 2) * 60;
    const ids = [3, 50, 101, 150, 222].map(netid);
    const queries = [
      { name: 'GET 10,000 datapoints: 10 minutes of all 250 devices', from: mid, to: mid + 9 * 60 },
      { name: 'GET 10,000 datapoints: id=5 devices, 500 minutes', from: mid - 500 * 60, to: mid - 60, ids },
    ];
    const file = path.join(dataDir, 'fieldhub.sqlite');
    for (const q of queries) {
      const url = `${fh.url}/conduitv6?fcdt=${q.from}&tcdt=${q.to}${q.ids ? `&id=${q.ids.join(',')}` : ''}`;
      const check = await fetch(url, { headers });
      const n = ((await check.json()) as unknown[]).length;
      if (check.status !== 200 || n !== 10_000) throw new Error(`query answered ${check.status} with ${n} datapoints`);
      const direct = directQuery(file, q);
      if (direct.count !== 10_000) throw new Error(`direct query found ${direct.count}`);
      for (const gz of [false, true]) {
        const r = await load({
          url,
          connections: 1,
          duration: 5,
          headers: { ...headers, ...(gz ? { 'accept-encoding': 'gzip' } : {}) },
        });
        const qr = row('conduit', `${q.name}${gz ? ', gzip' : ''}`, r, undefined, fh);
        // rates with one decimal: both sides answer a handful of 10,000-datapoint queries per second
        qr.rate = Number(r.rps.toFixed(1));
        qr.bareRate = Number((1000 / direct.ms).toFixed(1));
        qr.ratio = Number((r.rps / (1000 / direct.ms)).toFixed(3));
        qr.unit = 'queries/s';
        qr.note = `direct SELECT+JSON.stringify ${direct.ms.toFixed(1)} ms; table ${(gen.rows / 1e6).toFixed(1)}M`;
        rows.push(qr);
      }
    }
    ingest.note =
      `server CPU ${fhCpu.toFixed(2)} µs/datapoint (bare ${bareCpu.toFixed(2)}); bare = inflate+JSON.parse only; ` +
      `generated ${(gen.rows / 1e6).toFixed(1)}M rows in ${(gen.ms / 1000).toFixed(0)} s`;
    return rows;
  } finally {
    await fh?.stop();
    await bare?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printTable(await run());
