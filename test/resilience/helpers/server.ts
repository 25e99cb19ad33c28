/**
 * Resilience-suite helpers: the real fieldhub as a child process (node --import tsx), its captured
 * stdout/stderr, kill -9 / graceful stop, HTTP and /metrics helpers, and the secrets every server of
 * the suite is configured with (so that every captured log can be searched for them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
const ENTRY = path.join(import.meta.dirname, 'server-entry.ts');
/** every server's output also goes here (one file per server), for reading after a run */
export const LOG_DIR = path.join(tmpdir(), 'fieldhub-resilience-logs');

/** The secrets of the suite. Every value is unique and long enough that a hit in a log is not chance. */
export const SECRETS = {
  admin: 'adm-RESIL-7f3e9b21c4d84a0e9d1f',
  sync: 'syn-RESIL-2b8c41d07e9f4a63b5c0',
  passphrase: 'pass-RESIL-c91d3a7e5f024b8d',
  conduit: 'cnd-RESIL-5e0a9c7b3d1f4e28a6b4',
  conduit2: 'cnd-RESIL-8d2f6a1c9e7b4053b1d7',
  patriotA: 'pat-RESIL-A-4c7e1b9d2f0a6e83',
  patriotB: 'pat-RESIL-B-9a3d5f1e7c2b4086',
  smbPassword: 'smb-RESIL-e4b7c2a9d1f05e36',
  /** the password in the PostgreSQL URL of the PostgreSQL run (test/helpers/postgres.ts) */
  pgPassword: 'pg-test-secret-9f3',
} as const;

export const ADMIN_AUTH = { authorization: `Bearer ${SECRETS.admin}` };

export function tempDir(prefix = 'fieldhub-resil-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(out[k]) && isObj(v) ? deepMerge(out[k], v) : v;
  return out;
}

/** The patriot keys.json of the suite: two installers. */
export const PATRIOT_KEYS = [
  {
    key_name: 'InstA',
    key: SECRETS.patriotA,
    enabled: true,
    valid_to: null,
    port: 'PA01',
    installer_name: 'Inst A',
    installer_email: 'a@example.com',
  },
  {
    key_name: 'InstB',
    key: SECRETS.patriotB,
    enabled: true,
    valid_to: null,
    port: 'PB02',
    installer_name: 'Inst B',
    installer_email: 'b@example.com',
  },
];

/** A data dir with the patriot keys.json in place. */
export function makeDataDir(): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'keys.json'), JSON.stringify(PATRIOT_KEYS, null, 2));
  return dir;
}

/** The config every server of the suite starts with (tests add their own keys on top). */
export function baseConfig(dataDir: string): Obj {
  return {
    dataDir,
    server: { host: '127.0.0.1', port: 0, logLevel: 'info', shutdownGraceSeconds: 5 },
    admin: { token: SECRETS.admin },
    sync: { apiToken: SECRETS.sync, encryptionKey: SECRETS.passphrase, nodeName: 'hub' },
    conduit: { throttleSeconds: 0 },
    push: { resultTimeoutSeconds: 60, lastSeenFlushMs: 200 },
    patriot: { keysReloadMs: 200 },
    // the PostgreSQL run (vitest.pg.config.ts): the data dir's own database
    ...(onPostgres ? { store: { driver: 'postgres', url: pgUrlFor(dataDir) } } : {}),
  };
}

export interface Server {
  url: string;
  port: number;
  pid: number;
  proc: ChildProcess;
  /** stdout and stderr lines so far */
  lines: string[];
  text(): string;
  /** pino JSON lines (other lines skipped) */
  json(): Array<Record<string, unknown>>;
  /** SIGKILL, then wait for the exit */
  kill9(): Promise<void>;
  /** SIGTERM (graceful), then wait for the exit */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

const started: Server[] = [];
/** Every server this test file started (for the secret check over all captured logs). */
export function allServers(): readonly Server[] {
  return started;
}

let serial = 0;

export interface StartOptions {
  dataDir: string;
  config?: Obj;
  /** run as this uid/gid (setpriv), e.g. 65534 for nobody; the data dir is chowned to it */
  asUser?: number;
  /** ms to wait for LISTENING */
  timeoutMs?: number;
  /** name for the log file */
  name?: string;
  /** force a garbage collection this often (node --expose-gc) */
  gcEveryMs?: number;
}

/** Starts the real server as a child process and resolves once it listens. */
export async function startServer(opts: StartOptions): Promise<Server> {
  const cfg = deepMerge(baseConfig(opts.dataDir), opts.config ?? {});
  // RESILIENCE_GC_MS=N puts every server of the suite under GC pressure (a GC every N ms)
  opts = { ...opts, gcEveryMs: opts.gcEveryMs ?? (Number(process.env.RESILIENCE_GC_MS ?? 0) || undefined) };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: opts.asUser !== undefined ? '/tmp' : (process.env.HOME ?? '/tmp'),
    FIELDHUB_RESILIENCE_CONFIG: JSON.stringify(cfg),
    TZ: 'UTC',
  };
  const node = [process.execPath, ...(opts.gcEveryMs ? ['--expose-gc'] : []), '--import', 'tsx', ENTRY];
  if (opts.gcEveryMs) env.FIELDHUB_RESILIENCE_GC_MS = String(opts.gcEveryMs);
  let cmd: string;
  let args: string[];
  if (opts.asUser !== undefined) {
    chownTree(opts.dataDir, opts.asUser);
    cmd = 'setpriv';
    args = [`--reuid=${opts.asUser}`, `--regid=${opts.asUser}`, '--clear-groups', ...node];
  } else {
    cmd = node[0]!;
    args = node.slice(1);
  }
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${process.pid}-${++serial}-${opts.name ?? 'server'}.log`);
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let onLine: ((l: string) => void) | undefined;
  const take = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        appendFileSync(logFile, l + '\n');
        onLine?.(l);
      }
    });
    stream.on('end', () => {
      if (rest) {
        lines.push(rest);
        appendFileSync(logFile, rest + '\n');
      }
    });
  };
  take(proc.stdout);
  take(proc.stderr);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start within ${opts.timeoutMs ?? 30000} ms:\n${lines.join('\n')}`)),
      opts.timeoutMs ?? 30000,
    );
    const check = (l: string) => {
      const m = /^LISTENING (\d+)$/.exec(l);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    lines.forEach(check);
    onLine = check;
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${lines.join('\n')}`));
    });
  });
  onLine = undefined;
  const s: Server = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: proc.pid!,
    proc,
    lines,
    text: () => lines.join('\n'),
    json: () =>
      lines.flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    exited,
  };
  started.push(s);
  return s;
}

function chownTree(dir: string, uid: number): void {
  chownSync(dir, uid, uid);
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) chownTree(p, uid);
    else chownSync(p, uid, uid);
  }
}

export interface Answer {
  status: number;
  text: string;
  headers: Headers;
  json<T = unknown>(): T;
}

/** One HTTP request with a timeout; network errors reject. */
export async function http(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer | URLSearchParams;
    timeoutMs?: number;
  } = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body as RequestInit['body'],
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, json: <T>() => JSON.parse(text) as T };
}

/** JSON POST/PUT/... helper. */
export function jsonReq(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
  timeoutMs?: number,
): Promise<Answer> {
  return http(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    timeoutMs,
  });
}

/** The value of one Prometheus sample (labels must all match), 0 when absent. */
export async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await http(`${base}/metrics`)).text;
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) {
      sum += Number(m[3]);
      found = true;
    }
  }
  return found ? sum : 0;
}

/** Finds the secrets of the suite in a text; returns the names of those found. */
export function secretsIn(text: string): string[] {
  return Object.entries(SECRETS)
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);
}

/** Runs `worker(i)` for i in 0..count-1 with `concurrency` at a time, stopping early when `stop()` says so. */
export async function pool(
  count: number,
  concurrency: number,
  worker: (i: number) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !stop()) {
        const i = next++;
        await worker(i);
      }
    }),
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function until<T>(fn: () => T | Promise<T>, ms = 10_000, step = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(step);
  }
}

export function readJsonFile<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export interface LoadStats {
  sent: number;
  acked: number;
  /** requests refused with a non-2xx status before the kill */
  refused: number;
  /** requests that got no answer (connection reset by the kill) */
  noAnswer: number;
  /** requests in flight when the kill signal was sent */
  inFlightAtKill: number;
  ms: number;
}

/**
 * Drives `op` with `concurrency` workers (bounded by `maxOps` and `maxMs`) and kill -9s the server
 * once `killAfterAcks` operations were acknowledged or `killAfterMs` passed, whichever comes first,
 * while operations are in flight. `op` returns true when acknowledged (2xx), false when refused,
 * and throws when the connection failed.
 */
export async function loadAndKill(
  server: Server,
  o: {
    concurrency: number;
    maxOps: number;
    maxMs: number;
    killAfterAcks: number;
    killAfterMs: number;
    op: (i: number) => Promise<boolean>;
  },
): Promise<LoadStats> {
  const t0 = Date.now();
  const st: LoadStats = { sent: 0, acked: 0, refused: 0, noAnswer: 0, inFlightAtKill: 0, ms: 0 };
  let inFlight = 0;
  let killed = false;
  let killing: Promise<void> | undefined;
  const maybeKill = () => {
    if (killed) return;
    if (st.acked >= o.killAfterAcks || Date.now() - t0 >= o.killAfterMs) {
      killed = true;
      st.inFlightAtKill = inFlight;
      killing = server.kill9();
    }
  };
  const timer = setInterval(maybeKill, 20);
  try {
    await pool(
      o.maxOps,
      o.concurrency,
      async (i) => {
        st.sent++;
        inFlight++;
        try {
          if (await o.op(i)) st.acked++;
          else st.refused++;
        } catch {
          st.noAnswer++;
        } finally {
          inFlight--;
        }
        maybeKill();
      },
      () => killed || Date.now() - t0 > o.maxMs,
    );
  } finally {
    clearInterval(timer);
  }
  if (!killed) {
    killed = true;
    killing = server.kill9();
  }
  await killing;
  st.ms = Date.now() - t0;
  return st;
}

/** Appends a measurement of the suite to LOG_DIR/measurements.jsonl and prints it. */
export function report(name: string, data: Record<string, unknown>): void {
  mkdirSync(LOG_DIR, { recursive: true });
  const line = JSON.stringify({ at: new Date().toISOString(), name, ...data });
  appendFileSync(path.join(LOG_DIR, 'measurements.jsonl'), line + '\n');
  console.log(`[resilience] ${line}`);
}

/** SIGKILLs every server of this file that is still running (a failed test may leave one). */
export async function killLeftovers(): Promise<void> {
  await Promise.all(
    started.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null).map((s) => s.kill9()),
  );
}

/**
 * A test file's data dirs: returns their factories, and registers the file's clean-up — kill leftover
 * servers, check that no secret reached any server's output (nor the given log files of each data
 * dir), then remove the data dirs.
 */
export function suiteDataDirs(logFiles: string[] = []): { dataDir: () => string; scratchDir: () => string } {
  const dirs: string[] = [];
  afterAll(async () => {
    await killLeftovers();
    for (const s of allServers()) expect(secretsIn(s.text()), 'secrets in a server log').toEqual([]);
    for (const d of dirs) {
      for (const f of logFiles) {
        const p = path.join(d, f);
        if (existsSync(p)) expect(secretsIn(readFileSync(p, 'utf8')), `secrets in ${f}`).toEqual([]);
      }
      rmSync(d, { recursive: true, force: true });
    }
  });
  const track = (d: string) => {
    dirs.push(d);
    return d;
  };
  /** dataDir: with the suite's keys.json; scratchDir: an empty temp folder */
  return { dataDir: () => track(makeDataDir()), scratchDir: () => track(tempDir()) };
}
