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
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';

const root = path.join(import.meta.dirname, '..');

/**
 * CPU pinning (taskset from util-linux): servers under test on the upper half of the CPUs, this
 * process (the load generator, autocannon, smbd started from here) on the lower half. On 2 CPUs that
 * is one core each: the server's event loop no longer competes with autocannon for a core, but its
 * libuv pool and GC threads share that one core. BENCH_PIN=0 turns pinning off; without taskset or
 * with one CPU nothing is pinned. `pinning.describe` says what was done (printed with the table).
 */
export const pinning = ((): { server?: string; generator?: string; describe: string } => {
  const n = availableParallelism();
  if (process.env.BENCH_PIN === '0') return { describe: 'not pinned (BENCH_PIN=0)' };
  if (n < 2) return { describe: 'not pinned (1 CPU)' };
  const half = Math.floor(n / 2);
  const generator = half === 1 ? '0' : `0-${half - 1}`;
  const server = half === n - 1 ? String(half) : `${half}-${n - 1}`;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', generator, String(process.pid)], { stdio: 'ignore' });
  } catch {
    return { describe: `not pinned (taskset not available; ${n} CPUs shared by server and load generator)` };
  }
  return {
    server,
    generator,
    describe: `${n} CPUs: server(s) on CPU ${server}, load generator on CPU ${generator} (taskset)`,
  };
})();

/** Extra node flags for the servers under test, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

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
  const cwd = path.dirname(path.dirname(script));
  const node = [...serverNodeArgs, '--import', 'tsx', script];
  const [cmd, args] = pinning.server
    ? ['taskset', ['-c', pinning.server, process.execPath, ...node]]
    : [process.execPath, node];
  const child = spawn(cmd, args, {
    cwd,
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
  opts: { dataDir?: string; /** another checkout to run (bench/ab.ts: main against this tree) */ root?: string } = {},
): Promise<ServerHandle> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-'));
  const { child, port } = await spawnServer(path.join(opts.root ?? root, 'bench/fieldhub-server.ts'), {
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
  /** the server's event-loop delay p99 during this load, ms (from its /metrics) */
  eldP99Ms?: number;
}

export type LoadOptions = autocannon.Options;

/**
 * The server's event-loop delay since its previous scrape, ms: `fieldhub_event_loop_delay_seconds`
 * of GET /metrics (fieldhub and the bare server both serve it; the histogram restarts at each scrape).
 * undefined when the server has no such gauge.
 */
export async function eventLoopDelay(baseUrl: string): Promise<{ p50: number; p99: number; max: number } | undefined> {
  try {
    const text = await (await fetch(`${new URL(baseUrl).origin}/metrics`)).text();
    const q = (k: string) => {
      const m = new RegExp(`^fieldhub_event_loop_delay_seconds\\{quantile="${k}"\\} (\\S+)$`, 'm').exec(text);
      return m ? Math.round(Number(m[1]) * 1e4) / 10 : NaN;
    };
    const r = { p50: q('0.5'), p99: q('0.99'), max: q('max') };
    return Number.isNaN(r.p99) ? undefined : r;
  } catch {
    return undefined;
  }
}

/**
 * Runs autocannon (default 10 s, 50 connections) and returns the figures, with the server's
 * event-loop delay p99 over the run (`eld: false` when several loads share one server at once).
 */
export async function load(opts: Partial<LoadOptions> & { url: string; eld?: boolean }): Promise<LoadResult> {
  const { eld = true, ...rest } = opts;
  if (eld) await eventLoopDelay(opts.url); // restart the server's histogram
  const r = await autocannon({ connections: 50, duration: 10, ...rest });
  const d = eld ? await eventLoopDelay(opts.url) : undefined;
  return {
    eldP99Ms: d?.p99,
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
  /** the server's event-loop delay p99 during the workload, ms */
  eldP99Ms?: number;
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
    eldP99Ms: r.eldP99Ms,
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
    ['loop delay p99 ms', (r) => (r.eldP99Ms ?? '').toString()],
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

/** One workload of an A/B run: its name, the server it loads (for CPU time) and one load run. */
export type AbStep = [key: string, server: ServerHandle, run: () => Promise<LoadResult>];

/**
 * Runs `plan` round by round (interleaved, so a shared machine's drift hits every step alike) and
 * reports each step's rate, worst p99, failures and server CPU per request beside the step
 * `bareKeyOf(key)` names. Used by bench/ab.ts and bench/patriot-ab.ts.
 */
export async function abRounds(
  bench: string,
  plan: readonly AbStep[],
  rounds: number,
  bareKeyOf: (key: string) => string,
): Promise<BenchRow[]> {
  const acc = new Map<string, { requests: number; s: number; cpuMs: number; p99: number; failed: number }>();
  for (let i = 0; i < rounds; i++) {
    for (const [key, server, run] of plan) {
      const c0 = server.cpuMs();
      const r = await run();
      const x = acc.get(key) ?? { requests: 0, s: 0, cpuMs: 0, p99: 0, failed: 0 };
      x.requests += r.requests;
      x.s += r.durationS;
      x.cpuMs += server.cpuMs() - c0;
      x.p99 = Math.max(x.p99, r.p99);
      x.failed += r.errors + r.non2xx;
      acc.set(key, x);
    }
  }
  const rate = (k: string) => acc.get(k)!.requests / acc.get(k)!.s;
  return plan.map(([key]) => {
    const x = acc.get(key)!;
    const bareKey = bareKeyOf(key);
    return {
      bench,
      workload: key,
      rate: Math.round(rate(key)),
      unit: 'req/s',
      p99Ms: x.p99,
      bareRate: Math.round(rate(bareKey)),
      ratio: Number((rate(key) / rate(bareKey)).toFixed(3)),
      failed: x.failed,
      note: `server CPU/req ${((x.cpuMs * 1e3) / x.requests).toFixed(1)} µs`,
    };
  });
}

/** Writes a Patriot keys.json with one key into `dir` (the benches' installer); returns `dir`. */
export function writePatriotKey(dir: string, keyName: string, key: string): string {
  writeFileSync(
    path.join(dir, 'keys.json'),
    JSON.stringify([
      {
        key_name: keyName,
        key,
        enabled: true,
        valid_to: '2099-01-01T00:00:00Z',
        port: 'BASE11',
        installer_name: `${keyName} AS`,
        installer_email: 'bench@example.no',
      },
    ]),
  );
  return dir;
}

/** autocannon requests that cycle over `devices` Control iD device ids, one id per request */
export function deviceCycle(p: string, devices = 1000) {
  let n = 0;
  return [
    {
      setupRequest: (req: { path: string }) => {
        req.path = `${p}?deviceId=${100_000_000_000 + (n++ % devices)}`;
        return req;
      },
    },
  ];
}
