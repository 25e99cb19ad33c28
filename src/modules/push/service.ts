/**
 * The push queue in memory: which devices have queued work or a command in flight, rebuilt from
 * SQLite at start-up and updated right after each committed store transaction, so an empty poll
 * answers from memory. Last-seen times are coalesced here and flushed by a timer (and on close).
 */
import type { Log } from '../../core/logger.js';
import type { Counter } from 'prom-client';
import type { Config } from '../../core/config.js';
import type { Metrics } from '../../core/metrics.js';
import { parseResult } from './command.js';
import type { CommandSpec } from './schemas.js';
import { registerMetrics } from './metrics.js';
import type { CommandRow, Finished } from './rows.js';
import type { PushStore } from './store.js';
import { FinishWaiters } from './waiters.js';

interface InFlight {
  seq: number;
  deadlineMs: number;
  attempts: number;
  maxAttempts: number;
  expiresMs: number | null;
}

export interface Device {
  id: string;
  registeredMs: number;
  lastSeenMs: number;
  address: string | null;
  /** a last-seen change not yet flushed */
  dirty: boolean;
  queued: number;
  inFlight: InFlight | null;
}

export const FORBIDDEN = 1;
export type PollAnswer = string | null | typeof FORBIDDEN;

type PushConfig = Config['push'];

export class PushService {
  readonly devices = new Map<string, Device>();
  private dirty: Device[] = [];
  private readonly waiters = new FinishWaiters();
  private flushTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private dataVersion = 0;
  private ticks = 0;
  private readonly timeoutMs: number;
  private readonly onlineMs: number;
  /** polls since the last metrics scrape */
  polls = 0;
  readonly results: Counter<'status'>;

  constructor(
    readonly store: PushStore,
    readonly cfg: PushConfig,
    private readonly log: Log,
    metrics: Metrics,
  ) {
    this.timeoutMs = cfg.resultTimeoutSeconds * 1000;
    this.onlineMs = cfg.pollPeriodSeconds * 3000;
    this.results = registerMetrics(this, metrics);
  }

  /** Loads the index from the store and starts the timers. */
  start(): void {
    for (const r of this.store.devices()) {
      this.devices.set(r.device_id, {
        id: r.device_id,
        registeredMs: Date.parse(r.registered_at),
        lastSeenMs: r.last_seen_at ? Date.parse(r.last_seen_at) : 0,
        address: r.last_address,
        dirty: false,
        queued: 0,
        inFlight: null,
      });
    }
    this.reloadQueue();
    this.flushTimer = setInterval(() => this.tick(), this.cfg.lastSeenFlushMs).unref();
    const sweepMs = Math.min(1000, Math.max(20, this.timeoutMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs).unref();
  }

  /** Rebuilds queued counts and in-flight state from the store (start-up, and after another process wrote). */
  private reloadQueue(): void {
    this.dataVersion = this.store.dataVersion();
    for (const d of this.devices.values()) {
      d.queued = 0;
      d.inFlight = null;
    }
    for (const { device_id, n } of this.store.queuedCounts()) this.ensure(device_id).queued = n;
    for (const c of this.store.allInFlight()) {
      const d = this.ensure(c.device_id);
      if (!d.inFlight) d.inFlight = inFlightOf(c);
    }
  }

  private ensure(id: string): Device {
    let d = this.devices.get(id);
    if (!d) {
      const row = this.store.device(id);
      d = {
        id,
        registeredMs: row ? Date.parse(row.registered_at) : Date.now(),
        lastSeenMs: row?.last_seen_at ? Date.parse(row.last_seen_at) : 0,
        address: row?.last_address ?? null,
        dirty: false,
        queued: 0,
        inFlight: null,
      };
      this.devices.set(id, d);
    }
    return d;
  }

  private seen(id: string, address: string | undefined, now: number): Device | undefined {
    let d = this.devices.get(id);
    if (d === undefined) {
      if (!this.cfg.allowUnknownDevices) return undefined;
      d = { id, registeredMs: now, lastSeenMs: now, address: address ?? null, dirty: false, queued: 0, inFlight: null };
      this.devices.set(id, d);
      this.log.info({ deviceId: id, address }, 'push: new device registered by its first poll');
    }
    d.lastSeenMs = now;
    d.address = address ?? null;
    if (!d.dirty) {
      d.dirty = true;
      this.dirty.push(d);
    }
    return d;
  }

  /**
   * GET /push: the payload to send, null for an empty answer, FORBIDDEN for an unknown device. The
   * device's own uuid of this poll, if any, is bound to a delivery made now.
   */
  poll(id: string, address: string | undefined, deviceUuid?: string): PollAnswer {
    const now = Date.now();
    this.polls++;
    const d = this.seen(id, address, now);
    if (d === undefined) return FORBIDDEN;
    const f = d.inFlight;
    if (f !== null ? f.deadlineMs > now : d.queued === 0) return null;
    const out = this.store.deliverNext(id, now, this.timeoutMs, deviceUuid);
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
    this.finished(out.finished);
    return out.delivery ? out.delivery.payload : null;
  }

  /** POST /result. Returns false for an unknown device when unknown devices are not allowed. */
  result(id: string, address: string | undefined, raw: string, q: { uuid?: string; endpoint?: string } = {}): boolean {
    const d = this.seen(id, address, Date.now());
    if (d === undefined) return false;
    const parsed = parseResult(raw);
    const out = this.store.recordResult(id, parsed, { uuid: q.uuid ?? parsed.uuid, endpoint: q.endpoint }, raw);
    if (out.matched) {
      if (d.inFlight?.seq === out.finished.seq) d.inFlight = null;
      this.finished([out.finished]);
    } else {
      this.results.inc({ status: 'unmatched' });
      this.log.warn({ deviceId: id, commandId: out.commandId, reason: out.reason }, 'push: unmatched result stored');
    }
    return true;
  }

  /** Queues a command for each device (one transaction). */
  enqueue(deviceIds: readonly string[], spec: CommandSpec): CommandRow[] {
    const rows = this.store.enqueue(deviceIds, spec, {
      defaultMaxAttempts: this.cfg.maxAttempts,
      register: this.cfg.allowUnknownDevices,
      bodyEncoding: this.cfg.bodyEncoding,
    });
    for (const r of rows) this.ensure(r.device_id).queued++;
    return rows;
  }

  register(id: string): boolean {
    const created = this.store.registerDevice(id, 'operator');
    this.ensure(id);
    return created;
  }

  /** Cancels a queued command: the row (undefined when unknown) and whether this call cancelled it. */
  cancel(id: string): { row?: CommandRow; cancelled: boolean } {
    const out = this.store.cancel(id);
    if (out.finished) {
      const d = this.devices.get(out.finished.deviceId);
      if (d && d.queued > 0) d.queued--;
      this.finished([out.finished]);
    }
    return { row: out.row, cancelled: out.finished !== undefined };
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

  /** Writes pending last-seen times. */
  flush(): void {
    if (this.dirty.length === 0) return;
    const batch = this.dirty;
    this.dirty = [];
    for (const d of batch) d.dirty = false;
    try {
      this.store.touchDevices(
        batch.map((d) => ({ id: d.id, registeredMs: d.registeredMs, lastSeenMs: d.lastSeenMs, address: d.address })),
      );
    } catch (err) {
      this.log.error({ err }, 'push: last-seen flush failed; will retry');
      for (const d of batch) {
        if (!d.dirty) {
          d.dirty = true;
          this.dirty.push(d);
        }
      }
    }
  }

  private tick(): void {
    this.flush();
    try {
      // another process (the CLI) committed, or a periodic self-check: rebuild the index from the store
      if (this.store.dataVersion() !== this.dataVersion || ++this.ticks % 30 === 0) this.reloadQueue();
    } catch (err) {
      this.log.error({ err }, 'push: queue reload failed');
    }
  }

  /** Closes timed-out commands that may not be redelivered, and expires queued commands. */
  sweep(now = Date.now()): void {
    try {
      for (const d of this.devices.values()) {
        const f = d.inFlight;
        if (f === null || f.deadlineMs > now) continue;
        if (f.attempts < f.maxAttempts && (f.expiresMs === null || f.expiresMs > now)) continue; // redelivered on its next poll
        const fin = this.store.closeTimedOut(f.seq, now);
        d.inFlight = null;
        if (fin) this.finished([fin]);
      }
      const expired = this.store.expireQueued(now);
      for (const e of expired) {
        const d = this.devices.get(e.deviceId);
        if (d && d.queued > 0) d.queued--;
      }
      this.finished(expired);
    } catch (err) {
      this.log.error({ err }, 'push: sweep failed');
    }
  }

  /** Lets long-polls return (before the server waits for in-flight requests). */
  releaseWaiters(): void {
    this.waiters.release();
  }

  close(): void {
    this.releaseWaiters();
    clearInterval(this.flushTimer);
    clearInterval(this.sweepTimer);
    this.flush();
  }
}

function inFlightOf(c: CommandRow): InFlight {
  return {
    seq: c.seq,
    deadlineMs: c.deadline_at ? Date.parse(c.deadline_at) : 0,
    attempts: c.attempts,
    maxAttempts: c.max_attempts,
    expiresMs: c.expires_at ? Date.parse(c.expires_at) : null,
  };
}
