/**
 * The push index in memory: each device's last-seen time and address, its queued count and its
 * command in flight, so that an empty poll is a Map lookup. Loaded from the store at start-up; the
 * service (service.ts) updates it from what each write of the writer thread returns, in the
 * thread's order, and from snapshots taken in that same order.
 */
import type { Log } from '../../core/logger.js';
import type { CommandRow, DeviceRow } from './rows.js';
import type { QueueSnapshot } from './store.js';
import type { DeviceState } from './store-pg.js';

export interface InFlight {
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
  /** PostgreSQL: the push_queue version `queued` and `inFlight` are of, -1 before any was read (unused on SQLite, where the index follows the writer thread) */
  version: number;
}

export class DeviceIndex {
  readonly devices = new Map<string, Device>();
  private dirty: Device[] = [];
  /** the highest command seq the index knows of: a higher one in the store was queued by another process */
  knownMaxSeq = 0;

  constructor(
    private readonly store: { device(id: string): DeviceRow | undefined },
    private readonly allowUnknownDevices: boolean,
    private readonly log: Log,
  ) {}

  load(rows: readonly DeviceRow[], snap: QueueSnapshot): void {
    for (const r of rows) {
      this.devices.set(r.device_id, {
        id: r.device_id,
        registeredMs: Date.parse(r.registered_at),
        lastSeenMs: r.last_seen_at ? Date.parse(r.last_seen_at) : 0,
        address: r.last_address,
        dirty: false,
        queued: 0,
        inFlight: null,
        version: -1,
      });
    }
    this.applySnapshot(snap);
  }

  /** Rebuilds queued counts and in-flight state from a snapshot of the store. */
  applySnapshot(snap: QueueSnapshot): void {
    for (const d of this.devices.values()) {
      d.queued = 0;
      d.inFlight = null;
    }
    for (const { device_id, n } of snap.queued) this.ensure(device_id).queued = n;
    for (const c of snap.inFlight) {
      const d = this.ensure(c.device_id);
      if (!d.inFlight) d.inFlight = inFlightOf(c);
    }
    this.knowSeq(snap.maxSeq);
  }

  /**
   * PostgreSQL: a device's state as read from the database (store-pg.ts). Queue state older than
   * what the index has (a lower version: reads may complete out of order) is ignored; a later
   * last-seen written by another replica is taken.
   */
  applyState(s: DeviceState): void {
    const seenMs = s.last_seen_at ? Date.parse(s.last_seen_at) : 0;
    let d = this.devices.get(s.device_id);
    if (d === undefined) {
      d = {
        id: s.device_id,
        registeredMs: Date.parse(s.registered_at),
        lastSeenMs: seenMs,
        address: s.last_address,
        dirty: false,
        queued: 0,
        inFlight: null,
        version: -1,
      };
      this.devices.set(d.id, d);
    } else if (seenMs > d.lastSeenMs) {
      d.lastSeenMs = seenMs;
      d.address = s.last_address;
    }
    if (s.version <= d.version) return;
    d.version = s.version;
    d.queued = s.queued;
    d.inFlight =
      s.seq === null
        ? null
        : {
            seq: s.seq,
            deadlineMs: s.deadline_at ? Date.parse(s.deadline_at) : 0,
            attempts: s.attempts ?? 0,
            maxAttempts: s.max_attempts ?? 0,
            expiresMs: s.expires_at ? Date.parse(s.expires_at) : null,
          };
  }

  knowSeq(seq: number): void {
    if (seq > this.knownMaxSeq) this.knownMaxSeq = seq;
  }

  /** The device, read from the store when the index does not have it yet (registered by a write). */
  ensure(id: string): Device {
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
        version: -1,
      };
      this.devices.set(id, d);
    }
    return d;
  }

  /** A poll or result of `id`: last seen now (flushed later); undefined for an unknown device when those are refused. */
  seen(id: string, address: string | undefined, now: number): Device | undefined {
    let d = this.devices.get(id);
    if (d === undefined) {
      if (!this.allowUnknownDevices) return undefined;
      d = {
        id,
        registeredMs: now,
        lastSeenMs: now,
        address: address ?? null,
        dirty: false,
        queued: 0,
        inFlight: null,
        version: -1,
      };
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

  /** The devices whose last-seen changed since the last call (to flush). */
  takeDirty(): Device[] {
    const batch = this.dirty;
    this.dirty = [];
    for (const d of batch) d.dirty = false;
    return batch;
  }

  /** Marks devices pending again (a flush failed). */
  markDirty(batch: readonly Device[]): void {
    for (const d of batch) {
      if (!d.dirty) {
        d.dirty = true;
        this.dirty.push(d);
      }
    }
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
