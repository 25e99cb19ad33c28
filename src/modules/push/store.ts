/**
 * The push module's reads (`PushReads`, which the service awaits) and the SQLite side of the push
 * queue (statements in statements.ts): every state change in one transaction together with its
 * history row, run by the writer thread (writes.ts) and by the CLI (no server needed). The
 * PostgreSQL side is store-pg.ts (reads) and writes-pg.ts.
 */
import { randomUUID } from 'node:crypto';
import type { DB } from '../../core/db.js';
import { pushPayload, type ParsedResult } from './command.js';
import { matchResult, type MatchLookups } from './matching.js';
import { pushStatements } from './statements.js';
import type { BodyEncoding, CommandSpec, Status } from './schemas.js';
import type {
  CommandRow,
  DeliverOutcome,
  Delivery,
  DeliveryRow,
  DeviceRow,
  EventRow,
  Finished,
  ResultOutcome,
} from './rows.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** The queue's state in the store: queued counts per device, the in-flight commands, the highest command seq. */
export interface QueueSnapshot {
  queued: Array<{ device_id: string; n: number }>;
  inFlight: CommandRow[];
  maxSeq: number;
}

type MaybePromise<T> = T | Promise<T>;

/** What the service and the operator routes read: PushStore answers at once (SQLite), PushStorePg on the pool. */
export interface PushReads {
  device(id: string): MaybePromise<DeviceRow | undefined>;
  devices(): MaybePromise<DeviceRow[]>;
  snapshot(): MaybePromise<QueueSnapshot>;
  /** the highest command seq (0 when none) */
  maxSeq(): MaybePromise<number>;
  /** whether any queued command is past its expiresAt */
  expiredQueuedExist(now: number): MaybePromise<boolean>;
  byId(id: string): MaybePromise<CommandRow | undefined>;
  deliveries(seq: number): MaybePromise<DeliveryRow[]>;
  events(seq: number): MaybePromise<EventRow[]>;
  list(deviceId: string, status: Status | undefined, limit: number, offset: number): MaybePromise<CommandRow[]>;
  /** commands failed or expired since `since` */
  failedSince(since: Date): MaybePromise<number>;
}

export class PushStore implements PushReads {
  private readonly s;
  private readonly lookups: MatchLookups;

  constructor(readonly db: DB) {
    this.s = pushStatements(db);
    const s = this.s;
    this.lookups = {
      byId: (id) => s.byId.get(id) as CommandRow | undefined,
      bySeq: (seq) => s.bySeq.get(seq) as CommandRow | undefined,
      seqOfDeviceUuid: (deviceId, uuid) => s.deliveryByUuid.get(deviceId, uuid) as number | undefined,
      inFlight: (deviceId) => s.inFlight.get(deviceId) as CommandRow | undefined,
      lastDelivery: (seq) => s.lastDelivery.get(seq) as DeliveryRow | undefined,
    };
  }

  device(id: string): DeviceRow | undefined {
    return this.s.device.get(id) as DeviceRow | undefined;
  }

  devices(): DeviceRow[] {
    return this.s.devices.all() as DeviceRow[];
  }

  /** Registers a device (idempotent). Returns true when it was new. */
  registerDevice(id: string, by: 'poll' | 'operator', now = Date.now()): boolean {
    return this.s.registerDevice.run(id, iso(now), by).changes === 1;
  }

  /** Writes coalesced last-seen times in one transaction; registers devices first seen by a poll. */
  readonly touchDevices = (
    batch: ReadonlyArray<{ id: string; registeredMs: number; lastSeenMs: number; address: string | null }>,
  ) =>
    this.db.transaction(() => {
      for (const d of batch) this.s.touchDevice.run(d.id, iso(d.registeredMs), iso(d.lastSeenMs), d.address);
    })();

  /**
   * Queues one command per device in one transaction. Devices are registered as needed when
   * `register` is set, else every device must exist (or nothing is written).
   */
  enqueue(
    deviceIds: readonly string[],
    spec: CommandSpec,
    opts: { defaultMaxAttempts: number; register: boolean; bodyEncoding: BodyEncoding; now?: number },
  ): CommandRow[] {
    const now = opts.now ?? Date.now();
    const encoding = spec.bodyEncoding ?? opts.bodyEncoding;
    const at = iso(now);
    return this.db
      .transaction(() => {
        const rows: CommandRow[] = [];
        for (const deviceId of deviceIds) {
          if (opts.register) this.s.registerDevice.run(deviceId, at, 'operator');
          else if (!this.s.device.get(deviceId)) throw new UnknownDeviceError(deviceId);
          const id = randomUUID();
          const info = this.s.insert.run(
            id,
            deviceId,
            spec.verb ?? null,
            spec.endpoint,
            spec.body === undefined ? null : JSON.stringify(spec.body),
            spec.contentType ?? null,
            spec.queryString ?? null,
            pushPayload(id, spec, encoding),
            spec.maxAttempts ?? opts.defaultMaxAttempts,
            spec.expiresAt === undefined ? null : new Date(spec.expiresAt).toISOString(),
            at,
            encoding,
          );
          const seq = Number(info.lastInsertRowid);
          this.s.event.run(seq, at, 'queued', 0, null);
          rows.push(this.s.bySeq.get(seq) as CommandRow);
        }
        return rows;
      })
      .immediate();
  }

  private finishRow(
    c: CommandRow,
    status: Status,
    reason: string | null,
    at: string,
    response: string | null,
    error: string | null,
    finished: Finished[],
  ): void {
    const r = this.s.finish.run(status, reason, at, response, error, c.seq, c.status);
    if (r.changes !== 1) return;
    this.s.event.run(c.seq, at, status, c.attempts, reason ?? error);
    finished.push({ seq: c.seq, id: c.id, deviceId: c.device_id, status, reason });
  }

  private deliverRow(c: CommandRow, now: number, timeoutMs: number, deviceUuid: string | undefined): Delivery {
    const at = iso(now);
    const deadlineMs = now + timeoutMs;
    this.s.deliver.run(at, iso(deadlineMs), c.seq);
    this.s.addDelivery.run(c.seq, c.device_id, c.attempts + 1, deviceUuid ?? null, at);
    this.s.event.run(
      c.seq,
      at,
      'delivered',
      c.attempts + 1,
      deviceUuid === undefined ? null : `device uuid ${deviceUuid}`,
    );
    return {
      seq: c.seq,
      id: c.id,
      payload: c.payload,
      attempts: c.attempts + 1,
      maxAttempts: c.max_attempts,
      deadlineMs,
      expiresMs: c.expires_at ? Date.parse(c.expires_at) : null,
    };
  }

  /**
   * Picks what a polling device gets: the in-flight command again once its result timed out (until
   * max attempts, then failed/timeout), else the oldest queued command that has not expired. The
   * device's uuid of this poll, when it sent one, is bound to the delivery.
   */
  readonly deliverNext = (deviceId: string, now: number, timeoutMs: number, deviceUuid?: string): DeliverOutcome =>
    this.db
      .transaction((): DeliverOutcome => {
        const at = iso(now);
        const finished: Finished[] = [];
        const cur = this.s.inFlight.get(deviceId) as CommandRow | undefined;
        if (cur) {
          if (cur.deadline_at !== null && cur.deadline_at > at) return { waiting: true, dequeued: 0, finished };
          if (cur.expires_at !== null && cur.expires_at <= at)
            this.finishRow(cur, 'expired', 'expired', at, null, null, finished);
          else if (cur.attempts < cur.max_attempts)
            return { delivery: this.deliverRow(cur, now, timeoutMs, deviceUuid), dequeued: 0, finished };
          else this.finishRow(cur, 'failed', 'timeout', at, null, null, finished);
        }
        let dequeued = 0;
        for (;;) {
          const next = this.s.nextQueued.get(deviceId) as CommandRow | undefined;
          if (!next) return { dequeued, finished };
          dequeued++;
          if (next.expires_at !== null && next.expires_at <= at) {
            this.finishRow(next, 'expired', 'expired', at, null, null, finished);
            continue;
          }
          return { delivery: this.deliverRow(next, now, timeoutMs, deviceUuid), dequeued, finished };
        }
      })
      .immediate();

  /** Stores a device's result against the command it answers (matching.ts), or as unmatched. */
  readonly recordResult = (
    deviceId: string,
    r: ParsedResult,
    q: { uuid?: string; endpoint?: string },
    raw: string,
    now = Date.now(),
  ): ResultOutcome =>
    this.db
      .transaction((): ResultOutcome => {
        const at = iso(now);
        const { uuid, endpoint } = q;
        const { cmd, reason } = matchResult(this.lookups, deviceId, q);
        if (!cmd) {
          this.s.unmatched.run(deviceId, at, uuid ?? null, reason, raw, endpoint ?? null);
          return { matched: false, reason, commandId: uuid ?? null };
        }
        const status: Status = r.ok ? 'done' : 'failed';
        const why = r.ok ? null : 'device error';
        this.s.finishResult.run(
          status,
          why,
          at,
          r.response,
          r.responseEncoding,
          r.error,
          r.errorEncoding,
          endpoint ?? null,
          uuid ?? null,
          cmd.seq,
        );
        this.s.event.run(cmd.seq, at, status, cmd.attempts, why ?? null);
        return { matched: true, finished: { seq: cmd.seq, id: cmd.id, deviceId: cmd.device_id, status, reason: why } };
      })
      .immediate();

  /** Fails (timeout) or expires an in-flight command whose last delivery timed out and may not be retried. */
  readonly closeTimedOut = (seq: number, now: number): Finished | undefined =>
    this.db
      .transaction((): Finished | undefined => {
        const c = this.s.bySeq.get(seq) as CommandRow | undefined;
        const at = iso(now);
        if (!c || c.status !== 'delivered' || c.deadline_at === null || c.deadline_at > at) return undefined;
        const finished: Finished[] = [];
        if (c.expires_at !== null && c.expires_at <= at)
          this.finishRow(c, 'expired', 'expired', at, null, null, finished);
        else if (c.attempts >= c.max_attempts) this.finishRow(c, 'failed', 'timeout', at, null, null, finished);
        return finished[0];
      })
      .immediate();

  /** Marks queued commands past their expiresAt as expired. */
  readonly expireQueued = (now: number): Finished[] =>
    this.db
      .transaction((): Finished[] => {
        const at = iso(now);
        const finished: Finished[] = [];
        for (const { seq } of this.s.expiredQueued.all(at) as Array<{ seq: number }>) {
          this.finishRow(this.s.bySeq.get(seq) as CommandRow, 'expired', 'expired', at, null, null, finished);
        }
        return finished;
      })
      .immediate();

  /** Cancels a queued command. Returns the row after the attempt (status tells whether it worked). */
  readonly cancel = (id: string, now = Date.now()): { row?: CommandRow; finished?: Finished } =>
    this.db
      .transaction(() => {
        const c = this.s.byId.get(id) as CommandRow | undefined;
        if (!c || c.status !== 'queued') return { row: c };
        const finished: Finished[] = [];
        this.finishRow(c, 'cancelled', 'cancelled', iso(now), null, null, finished);
        return { row: this.s.bySeq.get(c.seq) as CommandRow, finished: finished[0] };
      })
      .immediate();

  byId(id: string): CommandRow | undefined {
    return this.s.byId.get(id) as CommandRow | undefined;
  }

  deliveries(seq: number): DeliveryRow[] {
    return this.s.deliveries.all(seq) as DeliveryRow[];
  }

  events(seq: number): EventRow[] {
    return this.s.events.all(seq) as EventRow[];
  }

  list(deviceId: string, status: Status | undefined, limit: number, offset: number): CommandRow[] {
    return this.s.list.all(deviceId, status ?? null, status ?? null, limit, offset) as CommandRow[];
  }

  queuedCounts(): Array<{ device_id: string; n: number }> {
    return this.s.queuedCounts.all() as Array<{ device_id: string; n: number }>;
  }

  allInFlight(): CommandRow[] {
    return this.s.allInFlight.all() as CommandRow[];
  }

  /** Commands failed or expired since `since` (the health tile). */
  failedSince(since: Date): number {
    return this.s.failedSince.get(since.toISOString()) as number;
  }

  /** The highest command seq (0 when none): a higher one than the server knows was queued by another process. */
  maxSeq(): number {
    return (this.s.maxSeq.get() as number | null) ?? 0;
  }

  /** Whether any queued command is past its expiresAt (a read: the sweep writes only when there is one). */
  expiredQueuedExist(now: number): boolean {
    return this.s.anyExpiredQueued.get(iso(now)) !== undefined;
  }

  snapshot(): QueueSnapshot {
    return { queued: this.queuedCounts(), inFlight: this.allInFlight(), maxSeq: this.maxSeq() };
  }
}

/** A command for a device that is not registered (thrown in the writer thread too: callers test `name`). */
export class UnknownDeviceError extends Error {
  override name = 'UnknownDeviceError';
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} is not registered (push.allowUnknownDevices is false)`);
  }
}
