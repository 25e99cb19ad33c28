/**
 * Paced Control iD pollers for the benches: `devices` devices, each polling GET /push?deviceId=N on
 * its own keep-alive socket and waiting `periodMs` after every answer (the firmware's
 * push_request_period), their first polls spread evenly over one period. Latency is timed from the
 * request's start to the end of its answer, on a generator whose own event-loop delay is reported.
 *
 * Why not autocannon for this: with 1,000 connections and `overallRate`, autocannon sends in
 * bursts and times its own queueing: alone on an idle fieldhub (server-side /push p99 <= 5 ms,
 * server loop delay p99 13 ms) it reported p50 196 ms, p99 1,087 ms (docs/performance.md).
 */
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMain, type LoadResult } from './lib.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(agent: Agent, url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export interface PollOptions {
  url: string;
  devices: number;
  seconds: number;
  periodMs?: number;
  /** the device's push_request_timeout */
  timeoutMs?: number;
  firstId?: number;
}

export type PollResult = LoadResult & { generatorEldP99Ms: number; generatorEldMaxMs: number; overTimeout: number };

export async function pollDevices(opts: PollOptions): Promise<PollResult> {
  const periodMs = opts.periodMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 4000;
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const lat: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  const device = async (i: number) => {
    await sleep((i * periodMs) / opts.devices);
    const url = `${opts.url}/push?deviceId=${(opts.firstId ?? 1) + i}`;
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const status = await get(agent, url, timeoutMs);
        if (status !== 200) non2xx++;
      } catch {
        errors++;
      }
      lat.push(performance.now() - t);
      await sleep(periodMs);
    }
  };
  await Promise.all(Array.from({ length: opts.devices }, (_, i) => device(i)));
  const durationS = (performance.now() - t0) / 1000;
  eld.disable();
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => Math.round((lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0) * 10) / 10;
  return {
    requests: lat.length,
    rps: lat.length / durationS,
    p50: q(0.5),
    p99: q(0.99),
    errors,
    non2xx,
    durationS,
    generatorEldP99Ms: Math.round(eld.percentile(99) / 1e5) / 10,
    generatorEldMaxMs: Math.round(eld.max / 1e5) / 10,
    overTimeout: lat.filter((x) => x >= timeoutMs).length,
  };
}

/**
 * pollDevices in a process of its own (it inherits this process's CPU pinning): beside other load
 * generators in one process (autocannon's Conduit and Patriot clients in bench/mixed.ts) the devices'
 * latency would include that process's event-loop delay, which is the generator's, not fieldhub's.
 */
export function pollDevicesInChild(opts: PollOptions): Promise<PollResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', new URL(import.meta.url).pathname, JSON.stringify(opts)],
      { maxBuffer: 1 << 20 },
      (err, stdout) => {
        if (err) reject(new Error(`devices process failed: ${err.message}`));
        else resolve(JSON.parse(stdout) as PollResult);
      },
    );
  });
}

if (isMain(import.meta.url)) {
  const r = await pollDevices(JSON.parse(process.argv[2] ?? '{}') as PollOptions);
  process.stdout.write(JSON.stringify(r));
}
