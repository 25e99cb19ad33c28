/**
 * The core writer thread (src/core/writer.ts) against the same writes on the event loop: 10
 * producers each writing 200-row batches (the shape of a Conduit batch) as fast as they are
 * acknowledged, for WRITER_BENCH_SECONDS (default 5) each way, synchronous=FULL, in this process.
 * Reports rows/s and this process's event-loop delay (what a device poll would wait); on the loop the
 * batches of one turn share one transaction, as Conduit's group commit does. This process and its
 * worker run on the load generator's CPU(s) (bench/lib.ts pinning), i.e. one core on 2 CPUs.
 */
import { rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Store } from '../src/core/db.js';
import { Writer } from '../src/core/writer.js';
import { tempDir } from '../test/helpers/app.js';
import { writes } from '../test/fixtures/writer-writes.js';
import { isMain, printTable, type BenchRow } from './lib.js';

const SECONDS = Number(process.env.WRITER_BENCH_SECONDS ?? 5);
const PRODUCERS = 10;
const ROWS = 200;
const WRITES = new URL('../test/fixtures/writer-writes.ts', import.meta.url).href;

async function drive(submit: (prefix: string) => Promise<unknown>) {
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  let batches = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      for (let i = 0; performance.now() < end; i++) {
        await submit(`p${p}:${i}`);
        batches++;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  eld.disable();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return { rowsPerS: (batches * ROWS) / s, p99: ms(eld.percentile(99)), max: ms(eld.max) };
}

export async function run(): Promise<BenchRow[]> {
  const dirA = tempDir('fieldhub-bench-writer-');
  const dirB = tempDir('fieldhub-bench-writer-');
  try {
    // on the loop: batches ready in one turn share one transaction (as conduit's GroupCommit)
    const a = new Store({ dataDir: dirA });
    const batch = a.db.transaction(writes(a.db)['test.batch']);
    let queue: Array<{ prefix: string; done: () => void }> = [];
    const flush = () => {
      const jobs = queue;
      queue = [];
      a.db.transaction(() => jobs.forEach((j) => batch({ prefix: j.prefix, n: ROWS }))).immediate();
      jobs.forEach((j) => j.done());
    };
    const onLoop = await drive(
      (prefix) =>
        new Promise<void>((done) => {
          if (queue.push({ prefix, done }) === 1) setImmediate(flush);
        }),
    );
    a.close();
    // the writer thread
    const b = new Store({ dataDir: dirB });
    const writer = await Writer.start({ file: b.file, writes: [WRITES] });
    const off = await drive((prefix) => writer.run('test.batch', { prefix, n: ROWS }));
    await writer.close();
    b.close();
    const r = (workload: string, x: typeof onLoop, bare?: typeof onLoop): BenchRow => ({
      bench: 'writer',
      workload,
      rate: Math.round(x.rowsPerS),
      unit: 'rows/s',
      eldP99Ms: x.p99,
      bareRate: bare ? Math.round(bare.rowsPerS) : undefined,
      ratio: bare ? Number((x.rowsPerS / bare.rowsPerS).toFixed(3)) : undefined,
      note: `event-loop delay p99 ${x.p99} ms, max ${x.max} ms`,
    });
    return [
      r(`${PRODUCERS} producers x ${ROWS}-row batches, commits on the event loop`, onLoop),
      r(`the same through the core writer thread (bare = on the loop)`, off, onLoop),
    ];
  } finally {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printTable(await run());
