/**
 * The sync hub: received payloads stored and processed off the request path, restart-safe. Every
 * write goes through `app.writer` (writes.ts on SQLite, writes-pg.ts on PostgreSQL); reads through
 * SyncReads (store.ts / store-pg.ts).
 * - SQLite: payloads as NetAlertX's files under log/plugins (receiver.ts, group commit of the sequence
 *   numbers), one worker (worker.ts).
 * - PostgreSQL: payloads in sync_payloads with their row, any replica processes (worker-pg.ts).
 */
import type { Config } from '../../core/config.js';
import type { Store } from '../../core/db.js';
import type { PgStore } from '../../core/pg.js';
import type { WriteRunner } from '../../core/writer.js';
import { DurableDir, safeJoin } from '../../core/files.js';
import type { Log } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { requeueFailed, requeueFailedPg } from './cli.js';
import { InFlight, Receiver, type Received } from './receiver.js';
import { SyncStore, type SyncReads } from './store.js';
import { SyncStorePg } from './store-pg.js';
import { Worker, type QueueWorker } from './worker.js';
import { PgReceiver, PgWorker } from './worker-pg.js';
import { syncWrite, type SyncWrite } from './writes.js';

export interface SyncHubOptions {
  config: Config['sync'];
  dataDir: string;
  /** the SQLite store, or null on PostgreSQL */
  store: Store | null;
  /** the PostgreSQL store, or null on SQLite */
  pg: PgStore | null;
  writer: WriteRunner;
  metrics: Metrics;
  log: Log;
}

export class SyncHub {
  readonly dir: string;
  /** reads (SQLite: the main connection; PostgreSQL: the pool) */
  readonly db: SyncReads;
  /** writes (resolve after COMMIT) */
  readonly write: SyncWrite;
  readonly payloads;
  private readonly receiver: { receive(p: Received): Promise<{ seq: number; file: string }> };
  private readonly worker: QueueWorker;
  /** puts the failed payloads back in the queue; returns how many */
  readonly requeueFailed: () => Promise<number>;

  constructor(o: SyncHubOptions) {
    this.dir = safeJoin(o.dataDir, 'log', 'plugins');
    this.write = syncWrite(o.writer);
    this.payloads = o.metrics.counter('fieldhub_sync_payloads_total', 'Sync payloads by source and result', [
      'source',
      'result',
    ] as const);
    const requeue = (id: number) => this.write('sync.requeue', id);
    if (o.pg) {
      const db = new SyncStorePg(o.pg);
      this.db = db;
      this.receiver = new PgReceiver(this.write, this.payloads);
      this.worker = new PgWorker(this.write, o.config, this.payloads, o.metrics, o.log);
      this.requeueFailed = () => requeueFailedPg(db, requeue);
    } else {
      const db = new SyncStore(o.store!.db);
      this.db = db;
      const durable = new DurableDir(this.dir);
      const inflight = new InFlight(db.lastId());
      this.receiver = new Receiver(this.write, durable, inflight, this.payloads, o.log);
      this.worker = new Worker(db, this.write, durable, inflight, o.config, this.payloads, o.metrics, o.log);
      this.requeueFailed = () => requeueFailed(db, this.dir, requeue);
    }
  }

  /** Stores a payload and starts processing it; throws StoreFailedError when it could not be stored. */
  async receive(p: Received): Promise<{ seq: number; file: string }> {
    const out = await this.receiver.receive(p);
    this.worker.kick();
    return out;
  }

  /** Records sync notifications; resolves after COMMIT. */
  notify(level: 'info' | 'alert', texts: string | string[]): Promise<void> {
    return this.write('sync.notify', { level, texts: typeof texts === 'string' ? [texts] : texts });
  }

  /** Start-up tidying of the plugin folder after a crash (call before taking requests). */
  tidyAfterCrash(): Promise<number> {
    return this.worker.tidyAfterCrash();
  }

  /** Starts the worker if it is not running. */
  kick(): void {
    this.worker.kick();
  }

  /** Resolves when the worker has nothing left to do. */
  idle(): Promise<void> {
    return this.worker.idle();
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
