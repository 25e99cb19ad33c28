/**
 * PostgreSQL, several replicas: keeps this replica's in-memory device index (device-index.ts) equal
 * to the database, so that the empty poll stays a memory lookup. Every push write NOTIFYs
 * `push_queue` in its transaction with the devices it changed and their new versions
 * (writes-pg.ts); this replica LISTENs on a dedicated connection (core PgStore.listen), re-reads the
 * devices whose version it has not seen (one statement per batch, so the state is consistent) and
 * applies them by version, so reads that complete out of order never go back in time. Its own writes
 * are re-read the same way. When the LISTEN connection was lost (the NOTIFYs meanwhile are gone), it
 * reloads every device on reconnect; and periodically (the service's tick) as a self-check.
 */
import type { Log } from '../../core/logger.js';
import type { Listener, PgStore } from '../../core/pg.js';
import type { DeviceIndex } from './device-index.js';
import type { QueueFeed } from './service.js';
import type { PushStorePg } from './store-pg.js';
import { CHANNEL } from './queue-pg.js';

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
}

function batch(): Batch {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class PgQueueFeed implements QueueFeed {
  private index?: DeviceIndex;
  private onFinished: (ids: readonly string[]) => void = () => undefined;
  private listener?: Listener;
  private readonly pending = new Set<string>();
  private next?: Batch;
  private running = false;

  constructor(
    private readonly pg: PgStore,
    private readonly store: PushStorePg,
    private readonly log: Log,
  ) {}

  async start(index: DeviceIndex, onFinished: (ids: readonly string[]) => void): Promise<void> {
    this.index = index;
    this.onFinished = onFinished;
    // LISTEN first, then read: a change committed in between arrives as a NOTIFY
    this.listener = await this.pg.listen(
      CHANNEL,
      (payload) => this.message(payload),
      () => {
        this.log.warn('push: queue notifications reconnected; reloading the queue state');
        void this.reload();
      },
    );
    for (const s of await this.store.states()) index.applyState(s);
  }

  private message(payload: string): void {
    let m: { d?: Array<[string, number]>; f?: string[] };
    try {
      m = JSON.parse(payload) as typeof m;
    } catch {
      this.log.warn({ payload: payload.slice(0, 200) }, 'push: ignored a malformed queue notification');
      return;
    }
    const ids: string[] = [];
    for (const [id, v] of m.d ?? []) {
      const d = this.index?.devices.get(id);
      if (d === undefined || v > d.version) ids.push(id);
    }
    if (ids.length) void this.refresh(ids);
    if (m.f?.length) this.onFinished(m.f);
  }

  /** Re-reads these devices; resolves once a read that started after this call was applied (or failed: logged). */
  refresh(deviceIds: readonly string[]): Promise<void> {
    for (const id of deviceIds) this.pending.add(id);
    this.next ??= batch();
    const p = this.next.promise;
    if (!this.running) void this.drain();
    return p;
  }

  /** one read at a time; ids arriving meanwhile are read together next */
  private async drain(): Promise<void> {
    this.running = true;
    while (this.pending.size > 0 && this.index) {
      const ids = [...this.pending];
      this.pending.clear();
      const b = this.next!;
      this.next = undefined;
      try {
        for (const s of await this.store.statesOf(ids)) this.index.applyState(s);
      } catch (err) {
        this.log.error({ err }, 'push: reading the queue state failed; the next notification or reload retries');
      }
      b.resolve();
    }
    this.running = false;
  }

  async reload(): Promise<void> {
    if (!this.index) return;
    try {
      for (const s of await this.store.states()) this.index.applyState(s);
    } catch (err) {
      this.log.error({ err }, 'push: queue reload failed');
    }
  }

  async close(): Promise<void> {
    await this.listener?.close();
    this.listener = undefined;
  }
}
