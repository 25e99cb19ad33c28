/**
 * Patriot API: PUT /clients + PUT /clients/zones + POST /clients/users for 1,000 clients (each write
 * also rewrites the client's XML durably), then GET /clients across those clients; each beside a bare
 * Fastify route returning the same JSON, measured in the same run.
 *   node --import tsx bench/patriot.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SAMPLE_INFO, SAMPLE_USER } from './bare/patriot.js';
import {
  isMain,
  load,
  printTable,
  row,
  startBare,
  startFieldhub,
  writePatriotKey,
  type BenchRow,
  type LoadResult,
} from './lib.js';

const CLIENTS = 1000;
export const KEY = 'bench-patriot-key-0123456789';

/** One connection runs PUT client, PUT zone, POST user for the next client id, over and over. */
export function writeSequence(prefix: string, auth: Record<string, string>, first = 1) {
  let next = first - 1;
  const json = { 'content-type': 'application/json', ...auth };
  type Ctx = { id?: number };
  return [
    {
      method: 'PUT' as const,
      path: `${prefix}/clients`,
      headers: json,
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => {
        ctx.id = ++next;
        return { ...req, body: JSON.stringify({ client_id: ctx.id, info: SAMPLE_INFO }) };
      },
    },
    {
      method: 'PUT' as const,
      path: `${prefix}/clients/zones`,
      headers: json,
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => ({
        ...req,
        body: JSON.stringify({ client_id: ctx.id, zone_id: 1, Zone_area: 'Inngang', ModuleNo: 0 }),
      }),
    },
    {
      method: 'POST' as const,
      path: `${prefix}/clients/users`,
      headers: json,
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => ({
        ...req,
        body: JSON.stringify({ client_id: ctx.id, user: SAMPLE_USER }),
      }),
    },
  ];
}

export function readSequence(prefix: string, auth: Record<string, string>, clients = CLIENTS) {
  let n = 0;
  return [
    {
      method: 'GET' as const,
      path: `${prefix}/clients`,
      setupRequest: (req: Record<string, unknown>) => ({
        ...req,
        headers: { ...auth, 'x-client-id': String((n++ % clients) + 1) },
      }),
    },
  ];
}

export async function run(): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-patriot-'));
  writePatriotKey(dataDir, 'Bench', KEY);
  const fh = await startFieldhub(JSON.parse(process.env.PATRIOT_BENCH_CONFIG ?? '{}') as Record<string, unknown>, {
    dataDir,
  });
  const bare = await startBare();
  const auth = { authorization: `Bearer ${KEY}` };
  try {
    const amount = CLIENTS * 3;
    // a fixed amount of requests: the rate is requests / elapsed time (autocannon's per-second average misleads on short runs)
    const perSecond = (r: LoadResult): LoadResult => ({ ...r, rps: r.requests / r.durationS });
    const bw = perSecond(
      await load({ url: bare.url, requests: writeSequence('/bare/patriot', {}) as never, amount, connections: 10 }),
    );
    const fw = perSecond(
      await load({ url: fh.url, requests: writeSequence('', auth) as never, amount, connections: 10 }),
    );
    const br = await load({ url: bare.url, requests: readSequence('/bare/patriot', {}) as never, duration: 5 });
    const fr = await load({ url: fh.url, requests: readSequence('', auth) as never, duration: 5 });
    const w = row('patriot', `PUT client+PUT zone+POST user x${CLIENTS} (XML fsync'd per write)`, fw, bw, fh);
    w.note = `${Math.round(fw.rps / 3)} clients/s`;
    return [w, row('patriot', `GET /clients over ${CLIENTS} clients`, fr, br, fh)];
  } finally {
    await fh.stop();
    await bare.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printTable(await run());
