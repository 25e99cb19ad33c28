/**
 * PostgreSQL (issue 17): the same workloads on store.driver "postgres" with one and with two replicas,
 * beside SQLite in the same run: the empty GET /push (1,000 device ids), Patriot GET /clients over
 * 1,000 clients, and the Patriot writes. Each PostgreSQL row gives its ratio to SQLite; the two-replica
 * rows also to one replica (the goal: >= 1.6x, CPU permitting). PostgreSQL is a private server
 * (test/helpers/postgres.ts) started here. Two replicas are loaded by two autocannon runs at once, one
 * per replica, half the connections each (what a load balancer does, without its own cost).
 *
 *   node --import tsx bench/pg.ts            (PG_BENCH_SECONDS=N: seconds per workload, default 6)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { Postgres } from '../test/helpers/postgres.js';
import {
  isMain,
  load,
  pinning,
  printTable,
  startFieldhub,
  type BenchRow,
  type LoadResult,
  type ServerHandle,
  deviceCycle,
  writePatriotKey,
} from './lib.js';
import { KEY, readSequence, writeSequence } from './patriot.js';

const DEVICES = 1000;
const CLIENTS = 1000;
const SECONDS = Number(process.env.PG_BENCH_SECONDS ?? 6);
const AUTH = { authorization: `Bearer ${KEY}` };

function keysDir(): string {
  return writePatriotKey(mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-pg-')), 'Bench', KEY);
}

type Setup = { name: string; servers: ServerHandle[] };

/** the same workload on every server of a setup at once (connections split), summed */
async function across(
  s: Setup,
  make: (url: string) => Parameters<typeof load>[0],
  connections = 50,
): Promise<LoadResult> {
  const per = Math.max(1, Math.floor(connections / s.servers.length));
  const rs = await Promise.all(s.servers.map((srv) => load({ ...make(srv.url), connections: per })));
  const requests = rs.reduce((n, r) => n + r.requests, 0);
  const durationS = Math.max(...rs.map((r) => r.durationS));
  return {
    requests,
    durationS,
    rps: requests / durationS,
    p50: Math.max(...rs.map((r) => r.p50)),
    p99: Math.max(...rs.map((r) => r.p99)),
    errors: rs.reduce((n, r) => n + r.errors, 0),
    non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
    eldP99Ms: Math.max(...rs.map((r) => r.eldP99Ms ?? 0)),
  };
}

function out(workload: string, setup: string, r: LoadResult, base?: LoadResult, note?: string): BenchRow {
  return {
    bench: 'pg',
    workload: `${workload}: ${setup}`,
    rate: Math.round(r.rps),
    unit: 'req/s',
    p50Ms: r.p50,
    p99Ms: r.p99,
    eldP99Ms: r.eldP99Ms,
    bareRate: base ? Math.round(base.rps) : undefined,
    ratio: base ? Number((r.rps / base.rps).toFixed(3)) : undefined,
    failed: r.errors + r.non2xx,
    note,
  };
}

export async function run(): Promise<BenchRow[]> {
  const pg = await Postgres.start();
  const dirs: string[] = [];
  const all: ServerHandle[] = [];
  const start = async (config: Record<string, unknown>) => {
    const dataDir = keysDir();
    dirs.push(dataDir);
    const s = await startFieldhub({ push: { pollPeriodSeconds: 5 }, ...config }, { dataDir });
    all.push(s);
    return s;
  };
  try {
    const url = pg.createDb('bench');
    const onPg = { store: { driver: 'postgres', url, pool: { max: 20 } } };
    const sqlite: Setup = { name: 'SQLite', servers: [await start({})] };
    const pg1: Setup = { name: 'PostgreSQL, 1 replica', servers: [await start(onPg)] };
    const pg2: Setup = { name: 'PostgreSQL, 2 replicas', servers: [pg1.servers[0]!, await start(onPg)] };
    const setups = [sqlite, pg1, pg2];

    // Patriot writes (also the data of the GETs): 1,000 clients each on SQLite and on PostgreSQL
    const amount = CLIENTS * 3;
    const perSecond = (r: LoadResult): LoadResult => ({ ...r, rps: r.requests / r.durationS });
    const writes: LoadResult[] = [];
    for (const s of [sqlite, pg1]) {
      writes.push(
        perSecond(
          await load({ url: s.servers[0]!.url, requests: writeSequence('', AUTH) as never, amount, connections: 10 }),
        ),
      );
    }
    // warm-up: register the devices (first poll) and fill each replica's caches
    for (const s of setups)
      await across(s, (u) => ({ url: `${u}/push`, requests: deviceCycle('/push', DEVICES) as never, duration: 2 }));

    const polls = new Map<Setup, LoadResult>();
    const gets = new Map<Setup, LoadResult>();
    for (const s of setups) {
      polls.set(
        s,
        await across(s, (u) => ({
          url: `${u}/push`,
          requests: deviceCycle('/push', DEVICES) as never,
          duration: SECONDS,
        })),
      );
      gets.set(
        s,
        await across(s, (u) => ({ url: u, requests: readSequence('', AUTH, CLIENTS) as never, duration: SECONDS })),
      );
    }
    const cores = `${cpus().length} CPUs; ${pinning.describe}; PostgreSQL unpinned`;
    const rows: BenchRow[] = [];
    for (const [name, m] of [
      [`GET /push empty, ${DEVICES} device ids`, polls],
      [`GET /clients over ${CLIENTS} clients`, gets],
    ] as const) {
      const base = m.get(sqlite)!;
      rows.push(out(name, 'SQLite', base));
      rows.push(out(name, pg1.name, m.get(pg1)!, base, 'ratio to SQLite'));
      rows.push(
        out(
          name,
          pg2.name,
          m.get(pg2)!,
          base,
          `ratio to SQLite; ${(m.get(pg2)!.rps / m.get(pg1)!.rps).toFixed(2)}x one replica (${cores})`,
        ),
      );
    }
    const [lite, onPgW] = writes as [LoadResult, LoadResult];
    rows.push(
      out('Patriot PUT client+zone+user x1000', 'SQLite', lite, undefined, `${Math.round(lite.rps / 3)} clients/s`),
    );
    rows.push(
      out(
        'Patriot PUT client+zone+user x1000',
        pg1.name,
        onPgW,
        lite,
        `${Math.round(onPgW.rps / 3)} clients/s; ratio to SQLite`,
      ),
    );
    return rows;
  } finally {
    for (const s of all) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    pg.stop();
  }
}

if (isMain(import.meta.url)) printTable(await run());
