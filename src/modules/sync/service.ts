/**
 * The sync hub: received payloads stored as NetAlertX's files (receiver.ts, group commit of the
 * sequence numbers) and processed off the request path (worker.ts, one worker, restart-safe). Every
 * write goes through the core writer thread (writes.ts); the main connection only reads.
 */
import type { Config } from '../../core/config.js';
import type { Store } from '../../core/db.js';
import type { WriteRunner } from '../../core/writer.js';
import { DurableDir, safeJoin } from '../../core/files.js';
import type { Log } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { InFlight, Receiver, type Received } from './receiver.js';
import { SyncStore } from './store.js';
import { Worker } from './worker.js';
import { syncWrite, type SyncWrite } from './writes.js';

export interface SyncHubOptions {
  config: Config['sync'];
  dataDir: string;
  store: Store;
  writer: WriteRunner;
  metrics: Metrics;
  log: Log;
}

export class SyncHub {
  readonly dir: string;
  /** reads, on the main connection */
  readonly db: SyncStore;
  /** writes, on the writer thread (resolves after COMMIT) */
  readonly write: SyncWrite;
  readonly payloads;
  private readonly receiver: Receiver;
  private readonly worker: Worker;

  constructor(o: SyncHubOptions) {
    this.dir = safeJoin(o.dataDir, 'log', 'plugins');
    const durable = new DurableDir(this.dir);
    this.db = new SyncStore(o.store.db);
    this.write = syncWrite(o.writer);
    this.payloads = o.metrics.counter('fieldhub_sync_payloads_total', 'Sync payloads by source and result', [
      'source',
      'result',
    ] as const);
    const inflight = new InFlight(this.db.lastId());
    this.receiver = new Receiver(this.write, durable, inflight, this.payloads, o.log);
    this.worker = new Worker(this.db, this.write, durable, inflight, o.config, this.payloads, o.metrics, o.log);
  }

  /** Stores a payload (receiver.ts) and starts processing it; throws StoreFailedError when it could not be stored. */
  async receive(p: Received): Promise<{ seq: number; file: string }> {
    const out = await this.receiver.receive(p);
    this.worker.kick();
    return out;
  }

  /** Records sync notifications (writer thread); resolves after COMMIT. */
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
