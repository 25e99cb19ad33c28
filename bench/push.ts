/**
 * Push: the empty poll (the hot path, 1,000 device ids) against a bare Fastify route returning an
 * empty 200 with the same query string, then polls that deliver queued commands (poll + result pairs).
 *
 *   node --import tsx bench/push.ts            (PUSH_BENCH_SECONDS=N to change the load time, default 8)
 */
import { isMain, load, printTable, row, startBare, startFieldhub, type BenchRow } from './lib.js';

const DEVICES = 1000;
const SECONDS = Number(process.env.PUSH_BENCH_SECONDS ?? 8);
const ADMIN = { authorization: 'Bearer bench-admin', 'content-type': 'application/json' };

/** autocannon request list that cycles over the device ids, one id per request */
function cycling(path: string) {
  let n = 0;
  return [
    {
      setupRequest: (req: { path: string }) => {
        req.path = `${path}?deviceId=${100_000_000_000 + (n++ % DEVICES)}`;
        return req;
      },
    },
  ];
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
    await load({ url: `${fh.url}/push`, requests: cycling('/push') as never, duration: 2 });
    await load({ url: `${bare.url}/bare/empty`, requests: cycling('/bare/empty') as never, duration: 2 });

    const b = await load({ url: `${bare.url}/bare/empty`, requests: cycling('/bare/empty') as never, duration: SECONDS });
    const e = await load({ url: `${fh.url}/push`, requests: cycling('/push') as never, duration: SECONDS });
    const r = row('push', `GET /push empty, ${DEVICES} device ids`, e, b, fh);
    r.note = 'bare: GET /bare/empty?deviceId=… (empty 200)';
    rows.push(r);

    // queued work: every device gets commands; each connection polls a device, then posts the result
    const perDevice = 60;
    const deviceIds = Array.from({ length: DEVICES }, (_, i) => String(100_000_000_000 + i));
    for (let k = 0; k < perDevice; k++) {
      const res = await fetch(`${fh.url}/admin/push/commands`, {
        method: 'POST',
        headers: ADMIN,
        body: JSON.stringify({ deviceIds, endpoint: 'load_objects', body: { object: 'users' } }),
      });
      if (res.status !== 201) throw new Error(`enqueue: ${res.status} ${await res.text()}`);
    }
    const before = await metric(fh.url, /fieldhub_push_results_total\{status="done"\} (\d+)/);
    let n = 0;
    const pairs = await load({
      url: fh.url,
      duration: SECONDS,
      requests: [
        {
          method: 'GET',
          setupRequest: (req: { path: string }, ctx: Record<string, unknown>) => {
            ctx.id = 100_000_000_000 + (n++ % DEVICES);
            req.path = `/push?deviceId=${ctx.id}`;
            return req;
          },
        },
        {
          method: 'POST',
          setupRequest: (req: { path: string; body?: string; headers?: Record<string, string> }, ctx: Record<string, unknown>) => {
            req.path = `/result?deviceId=${ctx.id}`;
            req.body = '{"response":{"users":[]}}';
            req.headers = { 'content-type': 'application/json' };
            return req;
          },
        },
      ] as never,
    });
    const done = (await metric(fh.url, /fieldhub_push_results_total\{status="done"\} (\d+)/)) - before;
    const q = row('push', 'GET /push delivering + POST /result', pairs, b, fh);
    q.note = `${Math.round(done / pairs.durationS)} commands done/s (${done} in ${pairs.durationS}s, SQLite synchronous=FULL)`;
    rows.push(q);
    return rows;
  } finally {
    await fh.stop();
    await bare.stop();
  }
}

if (isMain(import.meta.url)) printTable(await run());
