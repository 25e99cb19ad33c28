/**
 * The push queue in memory: which devices have queued work or a command in flight, loaded from the
 * store at start-up, so an empty poll answers from memory. Every write goes to `app.writer` and is
 * answered after its COMMIT. On SQLite (the writer thread, writes.ts) the index is updated from what
 * each write returns, in the order the thread ran them (one `.then` per write, see `write`), and
 * rebuilt from a snapshot taken in that same order when another process queued commands (and
 * periodically). On PostgreSQL several replicas write, so the index follows the database instead
 * (a QueueFeed, queue-feed-pg.ts: LISTEN/NOTIFY and versioned re-reads), this replica's writes
 * included. Last-seen times are coalesced here and flushed by a timer (and on close).
 */
import type { Log } from '../../core/logger.js';
import type { Counter } from 'prom-client';
import type { Config } from '../../core/config.js';
import type { Metrics } from '../../core/metrics.js';
import { parseResult } from './command.js';
import type { CommandSpec } from './schemas.js';
import { registerMetrics } from './metrics.js';
import type { CommandRow, DeviceRow, Finished } from './rows.js';
import { DeviceIndex, type Device } from './device-index.js';
import type { PushReads } from './store.js';
import { FinishWaiters } from './waiters.js';
import type { PushWrites } from './writes.js';

export const FORBIDDEN = 1;
export type PollAnswer = string | null | typeof FORBIDDEN;

type PushConfig = Config['push'];

/**
 * PostgreSQL (several replicas): keeps the index equal to the database instead of applying this
 * process's writes to it (queue-feed-pg.ts).
 */
export interface QueueFeed {
  /** starts following the database and loads the index; `finished` wakes the waiters of commands finished on any replica */
  start(index: DeviceIndex, finished: (commandIds: readonly string[]) => void): Promise<void>;
  /** re-reads these devices; resolves once a read made after the call was applied */
  refresh(deviceIds: readonly string[]): Promise<void>;
  /** re-reads every device */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** The core writer thread (app.writer). */
export interface PushWriter {
  run<T>(op: string, args?: unknown): Promise<{ value: T }>;
}

export class PushService {
  private readonly index: DeviceIndex;
  private readonly waiters = new FinishWaiters();
  private flushTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private reloading = false;
  private sweeping?: Promise<void>;
  private ticks = 0;
  private readonly timeoutMs: number;
  private readonly onlineMs: number;
  /** polls since the last metrics scrape */
  polls = 0;
  readonly results: Counter<'status'>;

  constructor(
    readonly store: PushReads,
    private readonly writer: PushWriter,
    readonly cfg: PushConfig,
    private readonly log: Log,
    metrics: Metrics,
    private readonly feed: QueueFeed | null = null,
  ) {
    this.timeoutMs = cfg.resultTimeoutSeconds * 1000;
    this.onlineMs = cfg.pollPeriodSeconds * 3000;
    // the index reads a device row at once only on SQLite (on PostgreSQL the feed brings the rows)
    const row = feed ? () => undefined : (id: string) => store.device(id) as DeviceRow | undefined;
    this.index = new DeviceIndex({ device: row }, cfg.allowUnknownDevices, log);
    this.results = registerMetrics(this, metrics);
  }

  /** The devices seen or registered, with their queue state (health, metrics, admin lists). */
  get devices(): ReadonlyMap<string, Device> {
    return this.index.devices;
  }

  /** Loads the index from the store (before any write) and starts the timers. */
  async start(): Promise<void> {
    if (this.feed) {
      await this.feed.start(this.index, (ids) => {
        for (const id of ids) this.waiters.finished(id);
      });
    } else {
      this.index.load(await this.store.devices(), await this.store.snapshot());
    }
    this.flushTimer = setInterval(() => this.tick(), this.cfg.lastSeenFlushMs).unref();
    const sweepMs = Math.min(1000, Math.max(20, this.timeoutMs / 4));
    this.sweepTimer = setInterval(() => void this.sweep(), sweepMs).unref();
  }

  /**
   * Hands a write to the writer thread; `apply` updates the index from its value. Every write takes
   * this one path (one `.then` on the writer's promise), so the applies run in the order the thread
   * ran the writes, and the index follows the store's order exactly.
   */
  private write<K extends keyof PushWrites, R>(
    op: K,
    args: PushWrites[K]['args'],
    apply: (value: PushWrites[K]['value']) => R,
  ): Promise<R> {
    return this.writer.run<PushWrites[K]['value']>(op, args).then((r) => apply(r.value));
  }

  /**
   * Starts the writer thread (when no other module has) and takes the first snapshot through it, so
   * that the first write of a poll or a result does not wait for the thread to start.
   */
  ready(): Promise<void> {
    if (this.feed) return Promise.resolve(); // no writer thread; start() loaded the index
    return this.write('push.snapshot', undefined, (snap) => this.index.applySnapshot(snap)).catch((err: unknown) => {
      // the next write tries to start the thread again (LazyWriter); until then writes answer 500
      this.log.error({ err }, 'push: the writer thread did not start');
    });
  }

  /** A snapshot taken by the writer thread, in its order of writes (so no committed write is missed or applied twice). */
  private reload(): void {
    if (this.reloading) return;
    this.reloading = true;
    if (this.feed) {
      void this.feed.reload().finally(() => (this.reloading = false));
      return;
    }
    this.write('push.snapshot', undefined, (snap) => {
      this.reloading = false;
      this.index.applySnapshot(snap);
    }).catch((err: unknown) => {
      this.reloading = false;
      this.log.error({ err }, 'push: queue reload failed');
    });
  }

  /**
   * GET /push: null for an empty answer and FORBIDDEN for an unknown device, both from memory; else
   * the delivery, once it is committed: the payload to send, or null. The device's own uuid of this
   * poll, if any, is bound to a delivery made now.
   */
  poll(id: string, address: string | undefined, deviceUuid?: string): PollAnswer | Promise<string | null> {
    const now = Date.now();
    this.polls++;
    const d = this.index.seen(id, address, now);
    if (d === undefined) return FORBIDDEN;
    const f = d.inFlight;
    if (f !== null ? f.deadlineMs > now : d.queued <= 0) return null;
    return this.write('push.deliver', { deviceId: id, now, timeoutMs: this.timeoutMs, deviceUuid }, (out) => {
      this.finished(out.finished);
      if (this.feed) {
        if (out.delivery || out.finished.length) void this.feed.refresh([id]);
        return out.delivery ? out.delivery.payload : null;
      }
      d.queued -= out.dequeued;
      if (d.queued < 0) d.queued = 0;
      if (out.delivery) {
        const x = out.delivery;
        d.inFlight = {
          seq: x.seq,
          deadlineMs: x.deadlineMs,
          attempts: x.attempts,
          maxAttempts: x.maxAttempts,
          expiresMs: x.expiresMs,
        };
      } else if (!out.waiting) {
        d.inFlight = null;
      }
      return out.delivery ? out.delivery.payload : null;
    });
  }

  /** POST /result, resolved once the result is committed. False for an unknown device when unknown devices are not allowed. */
  result(
    id: string,
    address: string | undefined,
    raw: string,
    q: { uuid?: string; endpoint?: string } = {},
  ): Promise<boolean> {
    const now = Date.now();
    const d = this.index.seen(id, address, now);
    if (d === undefined) return Promise.resolve(false);
    const parsed = parseResult(raw);
    const args = { deviceId: id, parsed, q: { uuid: q.uuid ?? parsed.uuid, endpoint: q.endpoint }, raw, now };
    return this.write('push.result', args, (out) => {
      if (out.matched) {
        if (!this.feed && d.inFlight?.seq === out.finished.seq) d.inFlight = null;
        this.finished([out.finished]);
      } else {
        this.results.inc({ status: 'unmatched' });
        this.log.warn({ deviceId: id, commandId: out.commandId, reason: out.reason }, 'push: unmatched result stored');
      }
      // PostgreSQL: answered once this replica's index has the command finished (the device polls again at once)
      return this.feed && out.matched ? this.feed.refresh([id]).then(() => true) : true;
    }).then((ok) => ok);
  }

  /** Queues a command for each device (one transaction). */
  enqueue(deviceIds: readonly string[], spec: CommandSpec): Promise<CommandRow[]> {
    const opts = {
      defaultMaxAttempts: this.cfg.maxAttempts,
      register: this.cfg.allowUnknownDevices,
      bodyEncoding: this.cfg.bodyEncoding,
      now: Date.now(),
    };
    if (this.feed) {
      const feed = this.feed;
      // answered once this replica's index has the commands: a poll right after the 201 gets them
      return this.write('push.enqueue', { deviceIds, spec, opts }, (rows) =>
        feed.refresh(deviceIds).then(() => rows),
      ).then((rows) => rows);
    }
    return this.write('push.enqueue', { deviceIds, spec, opts }, (rows) => {
      for (const r of rows) {
        this.index.ensure(r.device_id).queued++;
        this.index.knowSeq(r.seq);
      }
      return rows;
    });
  }

  register(id: string): Promise<boolean> {
    const feed = this.feed;
    if (feed)
      return this.write('push.register', { id, now: Date.now() }, (created) =>
        feed.refresh([id]).then(() => created),
      ).then((created) => created);
    return this.write('push.register', { id, now: Date.now() }, (created) => {
      this.index.ensure(id);
      return created;
    });
  }

  /** Cancels a queued command: the row (undefined when unknown) and whether this call cancelled it. */
  cancel(id: string): Promise<{ row?: CommandRow; cancelled: boolean }> {
    return this.write('push.cancel', { id, now: Date.now() }, (out) => {
      if (out.finished) {
        const d = this.devices.get(out.finished.deviceId);
        if (this.feed) void this.feed.refresh([out.finished.deviceId]);
        else if (d && d.queued > 0) d.queued--;
        this.finished([out.finished]);
      }
      return { row: out.row, cancelled: out.finished !== undefined };
    });
  }

  /** Resolves when the command reaches a final state, after `ms`, or when the app closes. */
  waitFinished(id: string, ms: number): Promise<void> {
    return this.waiters.wait(id, ms);
  }

  private finished(list: readonly Finished[]): void {
    for (const f of list) {
      this.results.inc({ status: f.status });
      this.waiters.finished(f.id);
    }
  }

  onlineCount(now = Date.now()): number {
    let n = 0;
    for (const d of this.devices.values()) if (now - d.lastSeenMs <= this.onlineMs) n++;
    return n;
  }

  isOnline(d: Device, now = Date.now()): boolean {
    return d.lastSeenMs > 0 && now - d.lastSeenMs <= this.onlineMs;
  }

  /** Writes pending last-seen times (a failed write marks them pending again). */
  flush(): Promise<void> {
    const batch = this.index.takeDirty();
    if (batch.length === 0) return Promise.resolve();
    const rows = batch.map((d) => ({
      id: d.id,
      registeredMs: d.registeredMs,
      lastSeenMs: d.lastSeenMs,
      address: d.address,
    }));
    return this.write('push.touch', rows, () => undefined).catch((err: unknown) => {
      this.log.error({ err }, 'push: last-seen flush failed; will retry');
      this.index.markDirty(batch);
    });
  }

  private tick(): void {
    void this.flush();
    // a periodic self-check: rebuild the index
    if (++this.ticks % 30 === 0) return this.reload();
    // SQLite: another process (the CLI) queued a command (on PostgreSQL its NOTIFY says so)
    if (this.feed) return;
    try {
      if ((this.store.maxSeq() as number) > this.index.knownMaxSeq) this.reload();
    } catch (err) {
      this.log.error({ err }, 'push: queue reload failed');
    }
  }

  /**
   * Closes timed-out commands that may not be redelivered, and expires queued commands: one write,
   * made only when the index or the store (a read) shows there is something to close or expire.
   */
  sweep(now = Date.now()): Promise<void> {
    if (this.sweeping) return this.sweeping;
    const seqs: number[] = [];
    for (const d of this.devices.values()) {
      const f = d.inFlight;
      if (f === null || f.deadlineMs > now) continue;
      if (f.attempts < f.maxAttempts && (f.expiresMs === null || f.expiresMs > now)) continue; // redelivered on its next poll
      seqs.push(f.seq);
    }
    const sweeping = (async () => {
      if (seqs.length === 0 && !(await this.store.expiredQueuedExist(now))) return;
      await this.write('push.sweep', { seqs, now }, (out) => this.swept(out));
    })()
      .catch((err: unknown) => this.log.error({ err }, 'push: sweep failed'))
      .finally(() => {
        this.sweeping = undefined;
      });
    this.sweeping = sweeping;
    return sweeping;
  }

  private swept({ closed, expired }: PushWrites['push.sweep']['value']): void {
    if (this.feed) {
      const ids = new Set([...closed, ...expired].map((f) => f.deviceId));
      if (ids.size) void this.feed.refresh([...ids]);
      this.finished(closed);
      this.finished(expired);
      return;
    }
    {
      for (const f of closed) {
        const d = this.devices.get(f.deviceId);
        if (d?.inFlight?.seq === f.seq) d.inFlight = null;
      }
      this.finished(closed);
      for (const e of expired) {
        const d = this.devices.get(e.deviceId);
        if (d && d.queued > 0) d.queued--;
      }
      this.finished(expired);
    }
  }

  /** Lets long-polls return (before the server waits for in-flight requests). */
  releaseWaiters(): void {
    this.waiters.release();
  }

  /** Stops the timers and writes what is pending (before the writer thread closes). */
  async close(): Promise<void> {
    this.releaseWaiters();
    clearInterval(this.flushTimer);
    clearInterval(this.sweepTimer);
    await this.sweeping;
    await this.flush();
    await this.feed?.close();
  }
}
