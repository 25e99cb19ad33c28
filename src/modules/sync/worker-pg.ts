/**
 * Receiving and processing on PostgreSQL (store.driver "postgres"): the payload is stored in the
 * database with its row (writes-pg.ts `sync.receive`, one transaction, no file), and any replica
 * processes the queue: `sync.processNext` claims groups of the oldest `received` rows with
 * `FOR UPDATE SKIP LOCKED`, so two replicas never process the same payload, and rows a dead replica
 * held are taken by the next claim. Each replica also looks at the queue every few seconds, so what a
 * replica received and could not process (it died) is processed by another without a restart.
 */
import type { Config } from '../../core/config.js';
import type { Log } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { fileNames } from './names.js';
import type { Received } from './receiver.js';
import { countDevices, DrainLoop, GROUP_BYTES, GROUP_MAX, processMetrics, type QueueWorker } from './worker.js';
import type { SyncWrite } from './writes.js';

type Payloads = { inc(labels: { source: string; result: string }): void };

/** How often each replica looks for payloads nobody processed (a replica that received them died). */
export const PG_POLL_MS = 5000;

export class PgReceiver {
  constructor(
    private readonly write: SyncWrite,
    private readonly payloads: Payloads,
  ) {}

  /** Numbers and stores a payload, its data with its row; resolves after COMMIT. */
  async receive(p: Received): Promise<{ seq: number; file: string }> {
    const { seq } = await this.write('sync.receive', {
      plugin: p.plugin,
      node: p.node,
      source: p.source,
      bytes: Buffer.byteLength(p.data),
      clientFilePath: p.clientFilePath,
      data: p.data,
    });
    this.payloads.inc({ source: p.source, result: 'received' });
    return { seq, file: fileNames(p.plugin, p.node, seq).encoded };
  }
}

export class PgWorker extends DrainLoop implements QueueWorker {
  private readonly m;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly write: SyncWrite,
    private readonly cfg: Config['sync'],
    private readonly payloads: Payloads,
    metrics: Metrics,
    private readonly log: Log,
    pollMs = PG_POLL_MS,
  ) {
    super();
    this.m = processMetrics(metrics);
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
  }

  /** Nothing on disk to tidy: a transaction a crash interrupted left nothing. */
  tidyAfterCrash(): Promise<number> {
    return Promise.resolve(0);
  }

  override async close(): Promise<void> {
    clearInterval(this.timer);
    await super.close();
  }

  /** Claims and processes groups until nothing is left to claim (or a transaction fails: the next kick tries again). */
  protected async drain(): Promise<void> {
    while (!this.closed) {
      const end = this.m.seconds.startTimer();
      let r;
      try {
        r = await this.write('sync.processNext', {
          behavior: this.cfg.behavior,
          passphrase: this.cfg.encryptionKey,
          max: GROUP_MAX,
          maxBytes: GROUP_BYTES,
        });
      } catch (e) {
        // nothing was recorded (rolled back); the rows stay `received` for the next kick
        this.log.error({ err: e }, 'sync: processing payloads failed');
        return;
      } finally {
        end();
      }
      if (r.rows.length === 0) return;
      r.rows.forEach((row, i) => {
        const d = r.done[i]!;
        const at = { plugin: row.plugin, node: row.node, seq: row.seq };
        if (d.outcome === 'ok') {
          this.payloads.inc({ source: row.source, result: 'processed' });
          countDevices(this.m, d.counts);
          return;
        }
        if (d.applyFailed) this.log.error({ err: d.reason, ...at }, 'sync: applying a payload failed');
        this.log.warn({ ...at, reason: d.reason }, 'sync: payload not processed');
        this.payloads.inc({ source: row.source, result: d.outcome });
      });
    }
  }
}
