/**
 * Sync hub: POST /sync of a 10,000-device encrypted payload and of small payloads, against a bare
 * Fastify form route with the same I/O shape (bench/bare/sync.ts) in the same run; plus the devices
 * per second the hub processes (decrypt, parse, upsert, rename) measured from its own metrics.
 *
 * And the node side (issue 18): GET /sync of 1,000 and 100,000 devices beside a bare route sending a
 * prepared buffer of the same size, with CPU per request and peak RSS.
 *
 *   node --import tsx bench/sync.ts        all
 *   node --import tsx bench/sync.ts get    GET /sync only
 *   node --import tsx bench/sync.ts post   POST /sync only
 */
import { encryptData } from '../src/modules/sync/crypto.js';
import { isMain, load, printTable, row, startBare, startFieldhub, type BenchRow } from './lib.js';

const TOKEN = 'bench-sync-token';
const KEY = 'bench-sync-passphrase';

function device(i: number): Record<string, unknown> {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return {
    devMac: `aa:bb:cc:${h((i >> 16) & 255)}:${h((i >> 8) & 255)}:${h(i & 255)}`,
    devName: `Device ${i}`,
    devOwner: '',
    devType: 'Laptop',
    devVendor: 'Vendor A',
    devFavorite: 0,
    devGroup: '',
    devComments: '',
    devFirstConnection: '2025-08-01 09:00:00',
    devLastConnection: '2025-08-24 10:15:00',
    devLastIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    devStaticIP: 0,
    devPresentLastScan: 1,
    devGUID: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
  };
}

function formBody(devices: number, node: string): string {
  const json = JSON.stringify({ data: Array.from({ length: devices }, (_, i) => device(i)) });
  return new URLSearchParams({
    data: encryptData(json, KEY),
    node_name: node,
    plugin: 'SYNC',
    file_path: '/app/api/table_devices.json',
  }).toString();
}

async function devicesProcessed(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^fieldhub_sync_devices_total\{result="(?:inserted|updated)"\} (\d+)/gm))
    n += Number(m[1]);
  return n;
}

async function drain(url: string): Promise<void> {
  const r = await fetch(`${url}/admin/sync/process`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-admin' },
  });
  if (r.status !== 200) throw new Error(`drain: ${r.status}`);
}

async function seedPlain(url: string, devices: number): Promise<void> {
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' };
  for (let start = 0; start < devices; start += 10_000) {
    const list = Array.from({ length: Math.min(10_000, devices - start) }, (_, i) => device(start + i));
    const body = new URLSearchParams({
      data: JSON.stringify({ data: list }),
      node_name: 'SEED',
      plugin: 'SYNC',
    }).toString();
    const r = await fetch(`${url}/sync`, { method: 'POST', headers, body });
    if (r.status !== 200) throw new Error(`seed: ${r.status}`);
  }
  await drain(url);
}

/** GET /sync of `devices` devices vs the bare prepared buffer of the same size; CPU ms per request of each. */
async function getRows(devices: number, connections: number, duration: number): Promise<BenchRow[]> {
  const fh = await startFieldhub({ sync: { apiToken: TOKEN, nodeName: 'BENCH' } });
  const bare = await startBare();
  try {
    await seedPlain(fh.url, devices);
    const peakBeforeGet = fh.peakRssMb();
    const first = await fetch(`${fh.url}/sync`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const bytes = (await first.arrayBuffer()).byteLength;
    const measure = async (h: typeof fh, url: string, headers: Record<string, string>) => {
      const cpu0 = h.cpuMs();
      const r = await load({ url, headers, connections, duration });
      return { r, cpuPerReq: (h.cpuMs() - cpu0) / Math.max(1, r.requests) };
    };
    const b = await measure(bare, `${bare.url}/bare/sync-get?bytes=${bytes}`, {});
    const f = await measure(fh, `${fh.url}/sync`, { authorization: `Bearer ${TOKEN}` });
    const n = devices.toLocaleString('en');
    return [
      {
        ...row('sync', `GET /sync ${n} devices`, f.r, b.r, fh),
        note: `${(bytes / 1024 / 1024).toFixed(1)} MB answer; peak RSS ${Math.round(peakBeforeGet)} MB after seeding, before GET; CPU ${f.cpuPerReq.toFixed(2)} ms/req (bare ${b.cpuPerReq.toFixed(2)}); ${connections} connections`,
      },
    ];
  } finally {
    await fh.stop();
    await bare.stop();
  }
}

export async function runGet(): Promise<BenchRow[]> {
  return [...(await getRows(1_000, 10, 8)), ...(await getRows(100_000, 2, 10))];
}

export async function run(): Promise<BenchRow[]> {
  return [...(await runPost()), ...(await runGet())];
}

async function runPost(): Promise<BenchRow[]> {
  const fh = await startFieldhub({ sync: { apiToken: TOKEN, encryptionKey: KEY, nodeName: 'BENCH' } });
  const bare = await startBare();
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' };
  const rows: BenchRow[] = [];
  try {
    const small = formBody(3, 'SMALL');
    const big = formBody(10_000, 'BIG');
    const post = (url: string, body: string, connections: number, duration: number) =>
      load({ url, method: 'POST', headers, body, connections, duration });

    const cpuPerReq = async (h: typeof fh, run: () => ReturnType<typeof post>) => {
      const cpu0 = h.cpuMs();
      const r = await run();
      return { r, ms: (h.cpuMs() - cpu0) / Math.max(1, r.requests) };
    };
    const bs = await cpuPerReq(bare, () => post(`${bare.url}/bare/sync-form`, small, 10, 8));
    const fs = await cpuPerReq(fh, () => post(`${fh.url}/sync`, small, 10, 8));
    rows.push({
      ...row('sync', 'POST /sync small (3 devices, encrypted)', fs.r, bs.r, fh),
      note: `${(small.length / 1024).toFixed(1)} KB form; CPU ${fs.ms.toFixed(2)} ms/req (bare ${bs.ms.toFixed(2)})`,
    });
    await drain(fh.url);

    const before = await devicesProcessed(fh.url);
    const t0 = Date.now();
    const bb = await post(`${bare.url}/bare/sync-form`, big, 2, 10);
    const t1 = Date.now();
    const fb = await post(`${fh.url}/sync`, big, 2, 10);
    await drain(fh.url);
    const t2 = Date.now();
    rows.push({
      ...row('sync', 'POST /sync 10,000 devices (encrypted)', fb, bb, fh),
      note: `${(big.length / 1024 / 1024).toFixed(1)} MB form`,
    });
    const processed = (await devicesProcessed(fh.url)) - before;
    const seconds = (t2 - t1) / 1000;
    rows.push({
      bench: 'sync',
      workload: 'devices processed (decrypt, parse, upsert, rename)',
      rate: Math.round(processed / seconds),
      unit: 'devices/s',
      peakRssMb: Math.round(fh.peakRssMb()),
      note: `${processed} devices in ${seconds.toFixed(1)} s (load + drain); bare load took ${((t1 - t0) / 1000).toFixed(1)} s`,
    });
  } finally {
    await fh.stop();
    await bare.stop();
  }
  return rows;
}

const only: Record<string, () => Promise<BenchRow[]>> = {
  post: runPost,
  get: runGet,
  get1k: () => getRows(1_000, 10, 8),
  get100k: () => getRows(100_000, 2, 10),
};
if (isMain(import.meta.url)) printTable(await (only[process.argv[2] ?? ''] ?? run)());
