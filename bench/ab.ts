/**
 * A/B of the per-request core cost: the same hot routes on two fieldhub checkouts and the bare
 * server, interleaved round by round in one run so that drift and other load hit all three alike.
 *   node --import tsx bench/ab.ts /work/main      (AB_ROUNDS=3, AB_SECONDS=4)
 * Prints rate, p99, server CPU per request and the ratio to the bare route for A (the other
 * checkout) and B (this tree). Not part of `npm run bench` (it needs a second checkout).
 */
import {
  load,
  printTable,
  startBare,
  startFieldhub,
  type BenchRow,
  type LoadResult,
  type ServerHandle,
} from './lib.js';

const other = process.argv[2];
if (!other) throw new Error('usage: bench/ab.ts <other checkout>');
const ROUNDS = Number(process.env.AB_ROUNDS ?? 3);
const SECONDS = Number(process.env.AB_SECONDS ?? 4);

const cpuS = (s: ServerHandle) => s.cpuMs() / 1000;

function cycling(p: string) {
  let n = 0;
  return [
    { setupRequest: (req: { path: string }) => ((req.path = `${p}?deviceId=${100_000_000_000 + (n++ % 1000)}`), req) },
  ];
}

const bare = await startBare();
const a = await startFieldhub({ push: { pollPeriodSeconds: 5 } }, { root: other });
const b = await startFieldhub({ push: { pollPeriodSeconds: 5 } });
type Acc = { requests: number; s: number; cpu: number; p99: number; failed: number };
const acc = new Map<string, Acc>();
async function measure(key: string, server: ServerHandle, url: string, cycle: boolean) {
  const c0 = cpuS(server);
  const r: LoadResult = await load({
    url,
    duration: SECONDS,
    eld: false,
    ...(cycle ? { requests: cycling(new URL(url).pathname) as never } : {}),
  });
  const x = acc.get(key) ?? { requests: 0, s: 0, cpu: 0, p99: 0, failed: 0 };
  x.requests += r.requests;
  x.s += r.durationS;
  x.cpu += cpuS(server) - c0;
  x.p99 = Math.max(x.p99, r.p99);
  x.failed += r.errors + r.non2xx;
  acc.set(key, x);
}
try {
  const plan: Array<[string, ServerHandle, string, boolean]> = [
    ['bare /bare/empty', bare, `${bare.url}/bare/empty`, true],
    ['A GET /push', a, `${a.url}/push`, true],
    ['B GET /push', b, `${b.url}/push`, true],
    ['bare /bare/json', bare, `${bare.url}/bare/json`, false],
    ['A GET /healthz', a, `${a.url}/healthz`, false],
    ['B GET /healthz', b, `${b.url}/healthz`, false],
  ];
  for (const [, s, u, c] of plan)
    await load({
      url: u,
      duration: 2,
      eld: false,
      ...(c ? { requests: cycling(new URL(u).pathname) as never } : {}),
    }).then(() => s);
  for (let i = 0; i < ROUNDS; i++) for (const [k, s, u, c] of plan) await measure(k, s, u, c);
  const rate = (k: string) => acc.get(k)!.requests / acc.get(k)!.s;
  const rows: BenchRow[] = plan.map(([k]) => {
    const x = acc.get(k)!;
    const bareKey = k.includes('push') || k.includes('empty') ? 'bare /bare/empty' : 'bare /bare/json';
    return {
      bench: 'ab',
      workload: k,
      rate: Math.round(rate(k)),
      unit: 'req/s',
      p99Ms: x.p99,
      bareRate: Math.round(rate(bareKey)),
      ratio: Number((rate(k) / rate(bareKey)).toFixed(3)),
      failed: x.failed,
      note: `server CPU/req ${((x.cpu * 1e6) / x.requests).toFixed(1)} µs`,
    };
  });
  printTable(rows);
} finally {
  await Promise.all([a.stop(), b.stop(), bare.stop()]);
}
