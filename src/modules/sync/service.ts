/**
 * The sync hub: received payloads stored as NetAlertX's files (receiver.ts, group commit of the
 * sequence numbers) and processed off the request path (worker.ts, one worker, restart-safe).
 */
import type { Config } from '../../core/config.js';
import type { Store } from '../../core/db.js';
import { DurableDir, safeJoin } from '../../core/files.js';
import type { Log } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { Receiver, type Received } from './receiver.js';
import { SyncStore } from './store.js';
import { Worker } from './worker.js';

export interface SyncHubOptions {
  config: Config['sync'];
  dataDir: string;
  store: Store;
  metrics: Metrics;
  log: Log;
}

export class SyncHub {
  readonly dir: string;
  readonly db: SyncStore;
  readonly payloads;
  private readonly receiver: Receiver;
  private readonly worker: Worker;

  constructor(o: SyncHubOptions) {
    this.dir = safeJoin(o.dataDir, 'log', 'plugins');
    const durable = new DurableDir(this.dir);
    this.db = new SyncStore(o.store);
    this.payloads = o.metrics.counter('fieldhub_sync_payloads_total', 'Sync payloads by source and result', [
      'source',
      'result',
    ] as const);
    const inflight = new Set<number>();
    this.receiver = new Receiver(this.db, durable, inflight, this.payloads, o.log);
    this.worker = new Worker(this.db, durable, inflight, o.config, this.payloads, o.metrics, o.log);
  }

  /** Stores a payload (receiver.ts) and starts processing it; throws StoreFailedError when it could not be stored. */
  async receive(p: Received): Promise<{ seq: number; file: string }> {
    const out = await this.receiver.receive(p);
    this.worker.kick();
    return out;
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
