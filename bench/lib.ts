/**
 * Shared benchmark harness. Servers under test run in child processes (so the load generator does
 * not share their event loop); autocannon drives them over loopback; each workload is reported
 * beside a bare Fastify route of the same I/O shape measured in the same run.
 *
 *   const fh = await startFieldhub({ sync: { apiToken: 't' } });   // real fieldhub, temp data dir
 *   const bare = await startBare();                                 // bench/bare/*.ts routes
 *   const a = await load({ url: fh.url + '/push?deviceId=1' });
 *   const b = await load({ url: bare.url + '/bare/empty' });
 *   printTable([row('push empty poll', a, b, fh)]);
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.join(import.meta.dirname, '..');

export interface ServerHandle {
  url: string;
  pid: number;
  dataDir: string;
  /** peak resident set size of the server process so far, MB (VmHWM) */
  peakRssMb(): number;
  /** CPU time (user + system) the server process used so far, ms */
  cpuMs(): number;
  stop(): Promise<void>;
}

function spawnServer(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${script} exited ${code}: ${out.slice(-2000)}`)));
  });
}

function handle(child: ChildProcess, port: number, dataDir: string): ServerHandle {
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    dataDir,
    peakRssMb() {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) / 1024 : NaN;
      } catch {
        return NaN;
      }
    },
    cpuMs() {
      try {
        // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks (100 per second on Linux)
        const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(f[11]) + Number(f[12])) * 10;
      } catch {
        return NaN;
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts the real fieldhub (src/, logs at warn) with a temp data dir and the given config values. */
export async function startFieldhub(
  config: Record<string, unknown> = {},
  opts: { dataDir?: string } = {},
): Promise<ServerHandle> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-'));
  const { child, port } = await spawnServer(path.join(root, 'bench/fieldhub-server.ts'), {
    FIELDHUB_BENCH_CONFIG: JSON.stringify({
      dataDir,
      server: { port: 0, logLevel: 'warn' },
      admin: { token: 'bench-admin' },
      ...config,
    }),
  });
  return handle(child, port, opts.dataDir ? '' : dataDir);
}

/** Starts a bare Fastify with every route of bench/bare/*.ts (no logging, no hooks). */
export async function startBare(): Promise<ServerHandle> {
  const { child, port } = await spawnServer(path.join(root, 'bench/bare-server.ts'), {});
  return handle(child, port, '');
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  durationS: number;
}

export type LoadOptions = autocannon.Options;

/** Runs autocannon (default 10 s, 50 connections) and returns the figures. */
export async function load(opts: Partial<LoadOptions> & { url: string }): Promise<LoadResult> {
  const r = await autocannon({ connections: 50, duration: 10, ...opts });
  return {
    requests: r.requests.total,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    durationS: r.duration,
  };
}

export interface BenchRow {
  bench: string;
  workload: string;
  /** requests/s, or items/s when `unit` says so */
  rate: number;
  unit: string;
  p50Ms?: number;
  p99Ms?: number;
  peakRssMb?: number;
  /** the bare route's rate in the same run */
  bareRate?: number;
  /** rate / bareRate */
  ratio?: number;
  failed?: number;
  note?: string;
}

export function row(
  bench: string,
  workload: string,
  r: LoadResult,
  bare?: LoadResult,
  server?: ServerHandle,
): BenchRow {
  return {
    bench,
    workload,
    rate: Math.round(r.rps),
    unit: 'req/s',
    p50Ms: r.p50,
    p99Ms: r.p99,
    peakRssMb: server ? Math.round(server.peakRssMb()) : undefined,
    bareRate: bare ? Math.round(bare.rps) : undefined,
    ratio: bare ? Number((r.rps / bare.rps).toFixed(3)) : undefined,
    failed: r.errors + r.non2xx,
  };
}

export function printTable(rows: BenchRow[]): void {
  const cols: Array<[string, (r: BenchRow) => string]> = [
    ['bench', (r) => r.bench],
    ['workload', (r) => r.workload],
    ['rate', (r) => `${r.rate} ${r.unit}`],
    ['p50 ms', (r) => (r.p50Ms ?? '').toString()],
    ['p99 ms', (r) => (r.p99Ms ?? '').toString()],
    ['peak RSS MB', (r) => (r.peakRssMb ?? '').toString()],
    ['bare', (r) => (r.bareRate ?? '').toString()],
    ['ratio', (r) => (r.ratio ?? '').toString()],
    ['failed', (r) => (r.failed ?? '').toString()],
    ['note', (r) => r.note ?? ''],
  ];
  const widths = cols.map(([h, f]) => Math.max(h.length, ...rows.map((r) => f(r).length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line(cols.map(([h]) => h)));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(cols.map(([, f]) => f(r))));
}

/** true when this file is run directly (`node --import tsx bench/x.ts`) */
export function isMain(metaUrl: string): boolean {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === new URL(metaUrl).pathname;
}
