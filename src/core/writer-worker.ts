/** The writer thread's side (src/core/writer.ts): one connection, group commit, a savepoint per write. */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { SerializedError, WriterOptions } from './writer.js';

type WriteFn = (args: unknown) => unknown;
interface Job {
  id: number;
  op: string;
  args: unknown;
}

const port = parentPort!;
const opts = workerData as WriterOptions;

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) {
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) {
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) props[k] = v;
    }
    return { name: e.name, message: e.message, props };
  }
  return { name: 'Error', message: String(e), props: {} };
}

let db: Database.Database;
const ops = new Map<string, WriteFn>();
try {
  db = new Database(opts.file, { timeout: opts.busyTimeoutMs ?? 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  for (const url of opts.writes) {
    const m = (await import(url)) as { writes: (db: Database.Database) => Record<string, WriteFn> };
    for (const [name, fn] of Object.entries(m.writes(db))) {
      if (ops.has(name)) throw new Error(`writer: write ${name} is defined twice`);
      ops.set(name, db.transaction(fn)); // nested in the group's transaction: a savepoint
    }
  }
} catch (e) {
  port.postMessage({ type: 'failed', error: serialize(e) });
  throw e;
}

let queue: Job[] = [];
let scheduled = false;
let group = 0;
let closing = false;

function flush(): void {
  scheduled = false;
  const jobs = queue;
  queue = [];
  if (jobs.length) {
    let results: Array<{ id: number; value?: unknown; error?: SerializedError }> = [];
    try {
      db.transaction(() => {
        for (const j of jobs) {
          const fn = ops.get(j.op);
          if (!fn) {
            results.push({ id: j.id, error: serialize(new Error(`writer: no write named ${j.op}`)) });
            continue;
          }
          try {
            results.push({ id: j.id, value: fn(j.args) });
          } catch (e) {
            results.push({ id: j.id, error: serialize(e) });
          }
        }
      }).immediate();
      group++;
    } catch (e) {
      // the COMMIT itself failed: nothing of this group is durable
      const error = serialize(e);
      results = jobs.map((j) => ({ id: j.id, error }));
    }
    port.postMessage({ type: 'done', group, results });
  }
  if (closing) {
    db.close();
    port.close();
  }
}

port.on('message', (m: Job | { type: 'close' }) => {
  if ('type' in m) closing = true;
  else queue.push(m);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
port.postMessage({ type: 'ready' });
