/**
 * The writer thread (issue 16, docs/performance.md): one worker_threads Worker owns a write
 * connection to the store's file and group-commits the writes that request handlers hand it, so
 * that inserts and COMMIT fsyncs (synchronous=FULL) run off the event loop. Reads stay on the main
 * thread's connection, synchronous and prepared.
 *
 * A module names its writes in a file of its own that the worker imports: `export function
 * writes(db) { const ins = db.prepare(...); return { 'mod.add': (args) => ins.run(args).changes } }`.
 * `await writer.run('mod.add', args)` resolves once the group holding that write is committed
 * (durable as a commit on the main thread is), with the write's return value; a write that throws
 * rolls back alone (its own savepoint) and rejects only its caller, with the error's name, message
 * and own properties (e.g. `statusCode`).
 *
 * Group commit: every write queued on the worker's port when it turns to the queue shares one
 * BEGIN IMMEDIATE ... COMMIT; while one group's fsync runs the next group queues up by itself.
 */
import { Worker } from 'node:worker_threads';

export interface WriterOptions {
  /** the SQLite file (Store.file) */
  file: string;
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  busyTimeoutMs?: number;
  /** URLs (file:) of the modules exporting `writes(db)` */
  writes: readonly string[];
}

/** What `app.writer` offers on either driver (SQLite: LazyWriter, the writer thread; PostgreSQL: PgWriter). */
export interface WriteRunner {
  /** runs the write op named `op` (a module's writes file); resolves after its COMMIT */
  run<T = unknown>(op: string, args?: unknown): Promise<WriteResult<T>>;
  close(): Promise<void>;
}

export interface WriteResult<T> {
  value: T;
  /** the number of the group commit that made it durable (1, 2, ...) */
  group: number;
}

interface Pending {
  resolve: (r: WriteResult<unknown>) => void;
  reject: (e: unknown) => void;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; error: SerializedError }
  | {
      type: 'done';
      group: number;
      results: Array<{ id: number; value?: unknown; error?: SerializedError }>;
    };

export interface SerializedError {
  name: string;
  message: string;
  props: Record<string, unknown>;
}

function revive(e: SerializedError): Error {
  const err = new Error(e.message);
  err.name = e.name;
  return Object.assign(err, e.props);
}

export class Writer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => {
      if (m.type !== 'done') return;
      for (const r of m.results) {
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        if (r.error) p.reject(revive(r.error));
        else p.resolve({ value: r.value, group: m.group });
      }
    });
    worker.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('writer thread stopped'));
      this.pending.clear();
      this.closed = true;
    });
  }

  /** Starts the worker; resolves when its connection is open and the write files are loaded. */
  static start(opts: WriterOptions): Promise<Writer> {
    const ts = import.meta.url.endsWith('.ts'); // run from source (tests, bench): the worker loads tsx first
    const entry = new URL(ts ? './writer-worker.ts' : './writer-worker.js', import.meta.url);
    const workerData = { ...opts, writes: [...opts.writes] };
    const worker = ts
      ? new Worker(
          `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry.href)}); });`,
          { eval: true, workerData },
        )
      : new Worker(entry, { workerData });
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'ready') {
          worker.off('message', onMessage);
          resolve(new Writer(worker));
        } else if (m.type === 'failed') {
          void worker.terminate();
          reject(revive(m.error));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  /** Hands one write to the thread; resolves when its group is committed. */
  run<T = unknown>(op: string, args?: unknown): Promise<WriteResult<T>> {
    if (this.closed) return Promise.reject(new Error('writer is closed'));
    const id = this.nextId++;
    return new Promise<WriteResult<T>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  /** Lets the queued writes commit, closes the connection and stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage({ type: 'close' });
    await exited;
  }
}

/**
 * The app's writer (`app.writer`): the thread starts on the first write, so an app or a test that
 * never writes through it starts no thread. A thread that fails to start (a module's writes file
 * throws) rejects that write and the next one tries again.
 */
export class LazyWriter implements WriteRunner {
  private started: Promise<Writer> | undefined;
  private closed = false;

  constructor(private readonly opts: WriterOptions) {}

  /** the write ops' files the thread loads */
  get writes(): readonly string[] {
    return this.opts.writes;
  }

  run<T = unknown>(op: string, args?: unknown): Promise<WriteResult<T>> {
    if (this.closed) return Promise.reject(new Error('writer is closed'));
    if (!this.started) {
      const starting = Writer.start(this.opts);
      starting.catch(() => {
        if (this.started === starting) this.started = undefined;
      });
      this.started = starting;
    }
    return this.started.then((w) => w.run<T>(op, args));
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = await this.started?.catch(() => undefined);
    await w?.close();
  }
}
