/**
 * The processing worker: takes the `received` rows of sync_received oldest first (the queue is the
 * table, so it is restart-safe), in groups of at most 64 payloads / 4 MB: decodes each (in
 * parallel), records every result and failure in one transaction (on the core writer thread,
 * writes.ts `sync.process`), then renames the files and fsyncs the folder once.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import type { Config } from '../../core/config.js';
import { safeJoin, type DurableDir } from '../../core/files.js';
import type { Log } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { fileNames, type PayloadFiles } from './names.js';
import { decodePayload, PayloadError, type Decoded } from './payload.js';
import type { InFlight } from './receiver.js';
import type { ReceivedRow, SyncStore } from './store.js';
import { errText } from './text.js';
import { keepFailed, tidyAfterCrash } from './tidy.js';
import type { Counts, ProcessItem, SyncWrite } from './writes.js';

/** A processing group: at most this many payloads, and this many bytes of stored data (one payload may exceed it). */
export const GROUP_MAX = 64;
export const GROUP_BYTES = 4 * 1024 * 1024;

type Names = PayloadFiles;
type Prepared =
  | { r: ReceivedRow; names: Names; outcome: 'ok'; decoded: Decoded }
  | { r: ReceivedRow; names: Names; outcome: 'failed' | 'lost'; reason: string };
/** What became of a prepared payload once its transaction ran. */
type Done =
  | { r: ReceivedRow; names: Names; outcome: 'ok'; counts?: Counts }
  | { r: ReceivedRow; names: Names; outcome: 'failed' | 'lost'; reason: string };

/** The processing metrics (one set per app, whichever worker runs). */
export function processMetrics(metrics: Metrics) {
  return {
    devices: metrics.counter('fieldhub_sync_devices_total', 'Devices processed from sync payloads', [
      'result',
    ] as const),
    seconds: metrics.histogram(
      'fieldhub_sync_process_seconds',
      'Time to decode and apply one group of payloads',
      [],
      [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    ),
  };
}

/** Counts a processed payload's devices. */
export function countDevices(m: ReturnType<typeof processMetrics>, counts: Counts | undefined): void {
  if (!counts) return;
  m.devices.inc({ result: 'inserted' }, counts.inserted);
  m.devices.inc({ result: 'updated' }, counts.updated);
  if (counts.skipped) m.devices.inc({ result: 'skipped' }, counts.skipped);
}

/** What the hub needs of its worker, on either driver (worker-pg.ts is PostgreSQL's). */
export interface QueueWorker {
  tidyAfterCrash(): Promise<number>;
  kick(): void;
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One drain at a time, on either driver: a kick while a drain runs makes it run once more after it,
 * so no kick is lost and no two drains overlap.
 */
export abstract class DrainLoop {
  private running?: Promise<void>;
  private again = false;
  protected closed = false;

  protected abstract drain(): Promise<void>;

  /** Starts a drain if none is running (it processes every `received` row, oldest first). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.again = false;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) this.kick();
    });
  }

  /** Resolves when the worker has nothing left to do. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}

export class Worker extends DrainLoop implements QueueWorker {
  private readonly m;

  constructor(
    /** reads (main connection) */
    private readonly db: SyncStore,
    private readonly write: SyncWrite,
    private readonly durable: DurableDir,
    /** ids whose file is not written yet (the receiver's) */
    private readonly inflight: InFlight,
    private readonly cfg: Config['sync'],
    private readonly payloads: { inc(labels: { source: string; result: string }): void },
    metrics: Metrics,
    private readonly log: Log,
  ) {
    super();
    this.m = processMetrics(metrics);
  }

  private path(name: string): string {
    return safeJoin(this.durable.dir, name);
  }

  /** Start-up tidying of what a crash can leave in the plugin folder (tidy.ts); call before taking requests. */
  tidyAfterCrash(): Promise<number> {
    return tidyAfterCrash(this.durable, this.db, this.log);
  }

  /** Processes the queue in groups (at most 64 payloads / 4 MB each), oldest first. */
  protected async drain(): Promise<void> {
    const tried = new Set<number>();
    for (;;) {
      const rows = this.db.pendingRows(256).filter((r) => !this.inflight.has(r.id) && !tried.has(r.id));
      if (rows.length === 0) return;
      let i = 0;
      while (i < rows.length) {
        if (this.closed) return;
        const group: ReceivedRow[] = [];
        let bytes = 0;
        while (
          i < rows.length &&
          group.length < GROUP_MAX &&
          (group.length === 0 || bytes + rows[i]!.bytes <= GROUP_BYTES)
        ) {
          group.push(rows[i]!);
          bytes += rows[i]!.bytes;
          tried.add(rows[i]!.id);
          i++;
        }
        await this.processGroup(group);
      }
    }
  }

  /** Reads, decodes and writes the decoded copy of one payload; never throws. */
  private async prepare(r: ReceivedRow): Promise<Prepared> {
    const names = fileNames(r.plugin, r.node, r.seq);
    let raw: string;
    try {
      raw = await readFile(this.path(names.encoded), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        return { r, names, outcome: 'lost', reason: 'the stored file is missing (never acknowledged, or removed)' };
      this.log.error({ err: e, plugin: r.plugin, node: r.node, seq: r.seq }, 'sync: reading a payload failed');
      return { r, names, outcome: 'failed', reason: errText(e) };
    }
    let decoded: Decoded;
    try {
      decoded = decodePayload(raw, { plugin: r.plugin, passphrase: this.cfg.encryptionKey, source: r.source });
    } catch (e) {
      return { r, names, outcome: 'failed', reason: e instanceof PayloadError ? e.message : errText(e) };
    }
    try {
      await writeFile(this.path(names.decoded), decoded.text);
    } catch (e) {
      this.log.error({ err: e, plugin: r.plugin, node: r.node, seq: r.seq }, 'sync: writing a decoded payload failed');
      return { r, names, outcome: 'failed', reason: errText(e) };
    }
    return { r, names, outcome: 'ok', decoded };
  }

  /**
   * Processes a group of stored payloads: decode each (in parallel), one SQLite transaction for
   * all results and failures, then the renames and one fsync of the folder. Never throws. The
   * encoded files stay until the transaction is committed, so a crash at any point leaves either the
   * raw payloads (processed again at start-up) or the committed results.
   */
  private async processGroup(rows: ReceivedRow[]): Promise<void> {
    const end = this.m.seconds.startTimer();
    try {
      const prepared = (await Promise.all(rows.map((r) => this.prepare(r)))).filter(
        // committed meanwhile by the receiver and its file not written yet: left for the next kick
        (p) => !(p.outcome === 'lost' && this.inflight.has(p.r.id)),
      );
      if (prepared.length === 0) return;
      const items = prepared.map((p): ProcessItem => {
        const base = { id: p.r.id, plugin: p.r.plugin, node: p.r.node, seq: p.r.seq, encoded: p.names.encoded };
        return p.outcome === 'ok'
          ? { ...base, outcome: 'ok', parsed: p.decoded.parsed }
          : { ...base, outcome: p.outcome, reason: p.reason };
      });
      let done: Done[];
      try {
        const results = await this.write('sync.process', { behavior: this.cfg.behavior, items });
        done = prepared.map((p, i): Done => {
          const d = results[i]!;
          if (d.outcome === 'ok') return { r: p.r, names: p.names, outcome: 'ok', counts: d.counts };
          if (d.applyFailed)
            this.log.error(
              { err: d.reason, plugin: p.r.plugin, node: p.r.node, seq: p.r.seq },
              'sync: applying a payload failed',
            );
          this.log.warn(
            { plugin: p.r.plugin, node: p.r.node, seq: p.r.seq, reason: d.reason },
            'sync: payload not processed',
          );
          return { r: p.r, names: p.names, outcome: d.outcome, reason: d.reason };
        });
      } catch (e) {
        // the transaction itself failed (disk full, I/O error): nothing was recorded; the rows stay
        // `received` and are tried again on the next kick or at start-up
        this.log.error({ err: e }, 'sync: committing processed payloads failed');
        return;
      }
      for (const p of done) {
        const source = p.r.source;
        if (p.outcome === 'ok') {
          this.payloads.inc({ source, result: 'processed' });
          countDevices(this.m, p.counts);
          try {
            await rename(this.path(p.names.decoded), this.path(p.names.processed));
            await unlink(this.path(p.names.encoded));
          } catch (e) {
            this.log.error({ err: e }, 'sync: renaming a processed payload failed');
          }
        } else {
          this.payloads.inc({ source, result: p.outcome });
          if (p.outcome === 'failed') await keepFailed(this.durable.dir, p.names, this.log);
        }
      }
      try {
        await this.durable.sync();
      } catch (e) {
        this.log.error({ err: e }, 'sync: fsync of the plugin folder failed');
      }
    } catch (e) {
      this.log.error({ err: e }, 'sync: processing a group failed');
    } finally {
      end();
    }
  }
}
