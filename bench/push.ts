/**
 * Push: the empty poll (the hot path, 1,000 device ids) against a bare Fastify route returning an
 * empty 200 with the same query string, then simulated Control iD devices (test/sim/controlid-device.ts)
 * executing queued commands: commands done per second and the share of empty polls.
 *
 *   node --import tsx bench/push.ts            (PUSH_BENCH_SECONDS=N: seconds per workload, default 10)
 */
import { ControlIdDevice } from '../test/sim/controlid-device.js';
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
  deviceCycle,
} from './lib.js';

const DEVICES = 1000;
const SECONDS = Number(process.env.PUSH_BENCH_SECONDS ?? 10);
const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ADMIN = { authorization: 'Bearer bench-admin', 'content-type': 'application/json' };

/** CPU seconds (user + system) the server process has used so far. */
function cpuSeconds(server: ServerHandle): number {
  return server.cpuMs() / 1000;
}

/** One load run that also reports the server's CPU time per request (µs). */
async function measure(server: ServerHandle, url: string, path: string): Promise<LoadResult & { cpuUs: number }> {
  const c0 = cpuSeconds(server);
  const r = await load({ url, requests: deviceCycle(path, DEVICES) as never, duration: SECONDS / 2 });
  return { ...r, cpuUs: ((cpuSeconds(server) - c0) * 1e6) / Math.max(1, r.requests) };
}

/** Runs alternate like a/b/a/b so that drift (thermal, other load) hits both sides alike. */
function merge(rs: Array<LoadResult & { cpuUs: number }>): LoadResult & { cpuUs: number } {
  const requests = rs.reduce((n, r) => n + r.requests, 0);
  const durationS = rs.reduce((n, r) => n + r.durationS, 0);
  return {
    requests,
    durationS,
    rps: requests / durationS,
    p50: Math.max(...rs.map((r) => r.p50)),
    p99: Math.max(...rs.map((r) => r.p99)),
    errors: rs.reduce((n, r) => n + r.errors, 0),
    non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
    cpuUs: rs.reduce((n, r) => n + r.cpuUs * r.requests, 0) / Math.max(1, requests),
    eldP99Ms: Math.max(...rs.map((r) => r.eldP99Ms ?? 0)),
  };
}

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

export async function run(): Promise<BenchRow[]> {
  const fh = await startFieldhub({ push: { pollPeriodSeconds: 5 } });
  const bare = await startBare();
  const rows: BenchRow[] = [];
  try {
    // warm-up, and register the devices (first poll)
    await load({ url: `${fh.url}/push`, requests: deviceCycle('/push', DEVICES) as never, duration: 2 });
    await load({ url: `${bare.url}/bare/empty`, requests: deviceCycle('/bare/empty', DEVICES) as never, duration: 2 });

    const bs: Array<LoadResult & { cpuUs: number }> = [];
    const es: Array<LoadResult & { cpuUs: number }> = [];
    for (let i = 0; i < 2; i++) {
      bs.push(await measure(bare, bare.url, '/bare/empty'));
      es.push(await measure(fh, fh.url, '/push'));
    }
    const b = merge(bs);
    const e = merge(es);
    const r = row('push', `GET /push empty, ${DEVICES} device ids`, e, b, fh);
    r.note = `bare: GET /bare/empty?deviceId=… (empty 200); server CPU/req: push ${e.cpuUs.toFixed(1)} µs, bare ${b.cpuUs.toFixed(1)} µs (ratio ${(b.cpuUs / e.cpuUs).toFixed(3)})`;
    rows.push(r);

    // queued work, driven by the Control iD device simulator (test/sim): every device polls with its
    // push_request_period (1 s) after an empty answer and at once after a result; 10% of the devices
    // have commands queued; half the devices behave as the firmware (own uuid, response as a JSON
    // string, endpoint on /result), half as the plain client (no uuid, response as an object)
    const deviceIds = Array.from({ length: DEVICES }, (_, i) => String(100_000_000_000 + i));
    const busy = deviceIds.filter((_, i) => i % 10 === 0);
    const perDevice = 200;
    for (let k = 0; k < perDevice; k++) {
      const res = await fetch(`${fh.url}/admin/push/commands`, {
        method: 'POST',
        headers: ADMIN,
        body: JSON.stringify({ deviceIds: busy, endpoint: 'load_objects', body: { object: 'users' } }),
      });
      if (res.status !== 201) throw new Error(`enqueue: ${res.status} ${await res.text()}`);
    }
    const sims = deviceIds.map(
      (id, i) =>
        new ControlIdDevice({
          remoteAddress: fh.url,
          deviceId: id,
          mode: i % 20 < 10 ? 'firmware' : 'plain',
          requestPeriodSeconds: 1,
          requestTimeoutMs: 10_000,
        }),
    );
    const done0 = await metric(fh.url, /fieldhub_push_results_total\{status="done"\} (\d+)/);
    const unmatched0 = await metric(fh.url, /fieldhub_push_results_total\{status="unmatched"\} (\d+)/);
    let stop = false;
    const t0 = performance.now();
    const loops = sims.map((d, i) => sleepMs((i * 1000) / DEVICES).then(() => d.run(() => stop))); // devices spread over one period
    await sleepMs((SECONDS / 2) * 1000);
    stop = true;
    await Promise.all(loops);
    const durationS = (performance.now() - t0) / 1000;
    const done = (await metric(fh.url, /fieldhub_push_results_total\{status="done"\} (\d+)/)) - done0;
    const unmatched = (await metric(fh.url, /fieldhub_push_results_total\{status="unmatched"\} (\d+)/)) - unmatched0;
    const polls = sims.reduce((n, d) => n + d.stats.polls, 0);
    const empty = sims.reduce((n, d) => n + d.stats.emptyPolls, 0);
    const errors = sims.reduce((n, d) => n + d.stats.connectionErrors, 0);
    rows.push({
      bench: 'push',
      workload: `Control iD simulator: ${DEVICES} devices (${busy.length} with work), poll + execute + result`,
      rate: Math.round(done / durationS),
      unit: 'commands/s',
      peakRssMb: Math.round(fh.peakRssMb()),
      failed: errors + unmatched,
      note: `${done} commands done in ${durationS.toFixed(1)} s; ${polls} polls, empty poll ratio ${(empty / Math.max(1, polls)).toFixed(3)}; ${unmatched} unmatched, ${errors} connection errors (SQLite synchronous=FULL)`,
    });
    return rows;
  } finally {
    await fh.stop();
    await bare.stop();
  }
}

if (isMain(import.meta.url)) printTable(await run());
