/**
 * The receiver: stores a received payload as NetAlertX's file. Its sequence number and `received`
 * row are group-committed: the payloads of one event-loop turn share one SQLite transaction (one
 * fsync); then the raw data is written atomically and durably. Until its file is written a payload
 * is in flight, so the worker does not take it for a lost one.
 */
import type { Log } from '../../core/logger.js';
import { safeJoin, type DurableDir } from '../../core/files.js';
import { fileNames } from './names.js';
import type { ReceiveItem, Source, SyncStore } from './store.js';
import { TAG } from './text.js';

interface Reservation {
  item: ReceiveItem;
  resolve: (v: { id: number; seq: number }) => void;
  reject: (e: unknown) => void;
}

/** A payload as a node posted it or as it was pulled from one. */
export interface Received {
  plugin: string;
  node: string;
  data: string;
  source: Source;
  clientFilePath?: string;
}

/** A payload could not be stored (its file write failed): recorded as lost; the peer is told so. */
export class StoreFailedError extends Error {
  override name = 'StoreFailedError';
}

export class Receiver {
  private readonly reservations: Reservation[] = [];

  constructor(
    private readonly db: SyncStore,
    private readonly durable: DurableDir,
    /** ids whose file is not written yet (shared with the worker) */
    private readonly inflight: Set<number>,
    private readonly payloads: { inc(labels: { source: string; result: string }): void },
    private readonly log: Log,
  ) {}

  private path(name: string): string {
    return safeJoin(this.durable.dir, name);
  }

  /**
   * Stores a payload: next sequence number and the `received` row (committed together with those of
   * the other requests of the same event-loop turn), then the raw data as
   * last_result.<plugin>.encoded.<node>.<seq>.log (atomic, fsynced). Resolves once stored.
   */
  async receive(p: Received): Promise<{ seq: number; file: string }> {
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
      throw new StoreFailedError(`${TAG} Failed to store data: ${code}`);
    } finally {
      this.inflight.delete(id);
    }
    this.payloads.inc({ source: p.source, result: 'received' });
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
}
