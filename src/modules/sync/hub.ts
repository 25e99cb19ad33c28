/**
 * The hub: storing received payloads as NetAlertX's files (group commit of the sequence numbers),
 * and processing them off the request path (one worker, restart-safe: the queue is the `received`
 * rows of sync_received).
 */
import type { Log } from '../../core/logger.js';
import { readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import type { Config } from '../../core/config.js';
import type { Store } from '../../core/db.js';
import { HttpError } from '../../core/errors.js';
import { safeJoin } from '../../core/files.js';
import type { Metrics } from '../../core/metrics.js';
import { DurableDir } from './durable.js';
import { fileComponent } from './names.js';
import { decodePayload, PayloadError, type Decoded } from './payload.js';
import { SyncStore, type ReceivedRow, type ReceiveItem, type Source } from './store.js';
import { errText, TAG } from './text.js';

/** A processing group: at most this many payloads, and this many bytes of stored data (one payload may exceed it). */
const GROUP_MAX = 64;
const GROUP_BYTES = 4 * 1024 * 1024;

type Names = ReturnType<typeof fileNames>;
type Counts = { inserted: number; updated: number; skipped: number };
type Prepared =
  | { r: ReceivedRow; names: Names; outcome: 'ok'; decoded: Decoded }
  | { r: ReceivedRow; names: Names; outcome: 'failed' | 'lost'; reason: string };
/** What became of a prepared payload once its transaction ran. */
type Done =
  | { r: ReceivedRow; names: Names; outcome: 'ok'; counts?: Counts }
  | { r: ReceivedRow; names: Names; outcome: 'failed' | 'lost'; reason: string };

interface Reservation {
  item: ReceiveItem;
  resolve: (v: { id: number; seq: number }) => void;
  reject: (e: unknown) => void;
}

/** The files of one payload; `node` is mapped to a safe file name component (names.ts). */
export const fileNames = (plugin: string, node: string, seq: number) => {
  const n = fileComponent(node);
  return {
    encoded: `last_result.${plugin}.encoded.${n}.${seq}.log`,
    decoded: `last_result.${plugin}.decoded.${n}.${seq}.log`,
    processed: `processed_last_result.${plugin}.${n}.${seq}.log`,
    failed: `failed_last_result.${plugin}.encoded.${n}.${seq}.log`,
  };
};

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
  private readonly cfg: Config['sync'];
  private readonly log: Log;
  private readonly inflight = new Set<number>();
  private readonly reservations: Reservation[] = [];
  private readonly durable: DurableDir;
  private running?: Promise<void>;
  private again = false;
  private closed = false;
  readonly payloads;
  private readonly deviceCounter;
  private readonly processSeconds;

  constructor(o: SyncHubOptions) {
    this.cfg = o.config;
    this.log = o.log;
    this.dir = safeJoin(o.dataDir, 'log', 'plugins');
    this.durable = new DurableDir(this.dir);
    this.db = new SyncStore(o.store);
    this.payloads = o.metrics.counter('fieldhub_sync_payloads_total', 'Sync payloads by source and result', [
      'source',
      'result',
    ] as const);
    this.deviceCounter = o.metrics.counter('fieldhub_sync_devices_total', 'Devices processed from sync payloads', [
      'result',
    ] as const);
    this.processSeconds = o.metrics.histogram(
      'fieldhub_sync_process_seconds',
      'Time to decode and apply one group of payloads',
      [],
      [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    );
  }

  private path(name: string): string {
    return safeJoin(this.dir, name);
  }

  /**
   * Stores a payload: next sequence number and the `received` row (committed together with those of
   * the other requests of the same event-loop turn), then the raw data as
   * last_result.<plugin>.encoded.<node>.<seq>.log (atomic, fsynced). Resolves once stored.
   */
  async receive(p: {
    plugin: string;
    node: string;
    data: string;
    source: Source;
    clientFilePath?: string;
  }): Promise<{ seq: number; file: string }> {
    const bytes = Buffer.byteLength(p.data);
    const { id, seq } = await this.reserve({
      plugin: p.plugin,
      node: p.node,
      source: p.source,
      bytes,
      clientFilePath: p.clientFilePath,
      note: (s) => {
        const file = fileNames(p.plugin, p.node, s).encoded;
        return p.source === 'pull'
          ? `${TAG} Device data from node "${p.node}" received (${file})`
          : `${TAG} Data received (${file})`;
      },
    });
    const names = fileNames(p.plugin, p.node, seq);
    try {
      await this.durable.write(this.path(names.encoded), p.data);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      this.log.error({ err: e, plugin: p.plugin, node: p.node, seq }, 'sync: storing a payload failed');
      this.payloads.inc({ source: p.source, result: 'lost' });
      try {
        this.db.markFailed(
          id,
          'lost',
          `store failed: ${code}`,
          `${TAG} Failed to store data (${names.encoded}): ${code}`,
        );
      } catch (e2) {
        this.log.error({ err: e2 }, 'sync: recording a store failure failed');
      }
      throw new HttpError(500, `${TAG} Failed to store data: ${code}`);
    } finally {
      this.inflight.delete(id);
    }
    this.payloads.inc({ source: p.source, result: 'received' });
    this.kick();
    return { seq, file: names.encoded };
  }

  /** Group commit: the reservations of one event-loop turn share one SQLite transaction (one fsync). */
  private reserve(item: Reservation['item']): Promise<{ id: number; seq: number }> {
    return new Promise((resolve, reject) => {
      this.reservations.push({ item, resolve, reject });
      if (this.reservations.length === 1) setImmediate(() => this.flushReservations());
    });
  }

  private flushReservations(): void {
    const batch = this.reservations.splice(0);
    try {
      const ids = this.db.receiveMany(batch.map((b) => b.item));
      // in flight until its file is written: the worker must not take it for a lost payload
      for (const x of ids) this.inflight.add(x.id);
      batch.forEach((b, i) => b.resolve(ids[i]!));
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  /**
   * Start-up tidying of what a crash (kill -9, power loss) can leave in the plugin folder; call
   * before the server takes requests. Returns how many files were dealt with.
   * - temp files of write-file-atomic (`<name>.<number>`): their rename never happened, so they were
   *   never acknowledged; removed.
   * - `last_result.<plugin>.encoded.<node>.<seq>.log` of a payload whose result was committed
   *   (status processed or failed) before the renames ran: the renames are finished (decoded ->
   *   processed_..., encoded removed; or encoded -> failed_...), as processing would have done.
   */
  async tidyAfterCrash(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      // no folder yet, or an unusable one (the first write will say why): nothing to tidy
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ err: e }, 'sync: cannot list the plugin folder to tidy it');
      return 0;
    }
    let temps = 0;
    let finished = 0;
    for (const n of names) {
      if (/\.log\.\d+$/.test(n)) {
        await rm(this.path(n), { force: true });
        temps++;
        continue;
      }
      // the plugin has no dots and the sequence is last: the node component is everything between
      const m = /^last_result\.([A-Za-z0-9_-]{1,64})\.encoded\.(.*)\.(\d+)\.log$/.exec(n);
      if (!m) continue;
      const row = this.db.rowsOf(m[1]!, Number(m[3])).find((r) => fileComponent(r.node) === m[2]);
      if (!row) continue;
      const status = row.status;
      const f = fileNames(m[1]!, row.node, Number(m[3]));
      if (status === 'processed') {
        await rename(this.path(f.decoded), this.path(f.processed)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        await rm(this.path(f.encoded), { force: true });
        finished++;
      } else if (status === 'failed') {
        await this.keepFailed(f);
        finished++;
      }
    }
    if (temps || finished) {
      await this.durable.sync();
      this.log.warn(
        { temps, finished },
        'sync: tidied the plugin folder after an interrupted run (temp files removed, renames of committed payloads finished)',
      );
    }
    return temps + finished;
  }

  /** Starts the worker if it is not running (it drains every `received` row, oldest first). */
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

  /** Processes the queue in groups (at most 64 payloads / 4 MB each), oldest first. */
  private async drain(): Promise<void> {
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

  /** Keeps a payload that could not be processed as failed_...; best effort (the row says failed either way). */
  private async keepFailed(names: ReturnType<typeof fileNames>): Promise<void> {
    try {
      await rename(this.path(names.encoded), this.path(names.failed));
      await rm(this.path(names.decoded), { force: true });
    } catch (e) {
      this.log.error({ err: e }, 'sync: renaming a failed payload failed');
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

  /** Applies one prepared payload (inside the group's transaction: a savepoint of its own). */
  private apply(p: Prepared & { outcome: 'ok' }): Counts | undefined {
    const { r, names } = p;
    const parsed = p.decoded.parsed;
    if (parsed.kind === 'devices') {
      const { inserted, updated } = this.db.applyDevices(
        r.id,
        r.node,
        parsed.devices,
        this.cfg.behavior,
        (ins, upd) => {
          const skipped = parsed.skipped ? `, ${parsed.skipped} skipped (no devMac or duplicate)` : '';
          return `${TAG} Processed ${names.encoded} from "${r.node}": inserted "${ins}" new devices, updated ${upd}${skipped}`;
        },
      );
      return { inserted, updated, skipped: parsed.skipped };
    }
    this.db.applyRows(
      r.id,
      r.plugin,
      r.node,
      r.seq,
      parsed.rows,
      `${TAG} Processed ${names.encoded} from "${r.node}": ${parsed.rows.length} ${r.plugin} rows`,
    );
    return undefined;
  }

  /** apply(), its failure turned into a `failed` outcome (the savepoint rolled back). */
  private tryApply(p: Prepared & { outcome: 'ok' }): Done {
    try {
      return { r: p.r, names: p.names, outcome: 'ok', counts: this.apply(p) };
    } catch (e) {
      this.log.error({ err: e, plugin: p.r.plugin, node: p.r.node, seq: p.r.seq }, 'sync: applying a payload failed');
      return { r: p.r, names: p.names, outcome: 'failed', reason: errText(e) };
    }
  }

  /**
   * Processes a group of stored payloads: decode each (in parallel), one SQLite transaction for
   * all results and failures, then the renames and one fsync of the folder. Never throws. The
   * encoded files stay until the transaction is committed, so a crash at any point leaves either the
   * raw payloads (processed again at start-up) or the committed results.
   */
  private async processGroup(rows: ReceivedRow[]): Promise<void> {
    const end = this.processSeconds.startTimer();
    try {
      const prepared = await Promise.all(rows.map((r) => this.prepare(r)));
      let done: Done[];
      try {
        done = this.db.batch(() =>
          prepared.map((p): Done => {
            const f: Done = p.outcome === 'ok' ? this.tryApply(p) : p;
            if (f.outcome !== 'ok') {
              this.log.warn(
                { plugin: f.r.plugin, node: f.r.node, seq: f.r.seq, reason: f.reason },
                'sync: payload not processed',
              );
              this.db.markFailed(
                f.r.id,
                f.outcome,
                f.reason,
                `${TAG} Failed to process ${f.names.encoded} from "${f.r.node}": ${f.reason}`,
              );
            }
            return f;
          }),
        );
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
          if (p.counts) {
            this.deviceCounter.inc({ result: 'inserted' }, p.counts.inserted);
            this.deviceCounter.inc({ result: 'updated' }, p.counts.updated);
            if (p.counts.skipped) this.deviceCounter.inc({ result: 'skipped' }, p.counts.skipped);
          }
          try {
            await rename(this.path(p.names.decoded), this.path(p.names.processed));
            await unlink(this.path(p.names.encoded));
          } catch (e) {
            this.log.error({ err: e }, 'sync: renaming a processed payload failed');
          }
        } else {
          this.payloads.inc({ source, result: p.outcome });
          if (p.outcome === 'failed') await this.keepFailed(p.names);
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
