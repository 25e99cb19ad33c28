/**
 * SQLite side of the push queue: statements prepared once, every state change in one transaction
 * together with its history row. Used by the service (server) and by the CLI (no server needed).
 */
import { randomUUID } from 'node:crypto';
import type { DB } from '../../core/db.js';
import { pushPayload, type BodyEncoding, type CommandSpec, type ParsedResult, type Status } from './command.js';
import { sameEndpoint } from './device-query.js';
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

export type { CommandRow, DeviceRow } from './rows.js';

const iso = (ms: number) => new Date(ms).toISOString();

export class PushStore {
  private readonly s;

  constructor(readonly db: DB) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      device: p('SELECT * FROM push_devices WHERE device_id = ?'),
      devices: p('SELECT * FROM push_devices'),
      registerDevice: p(
        'INSERT INTO push_devices (device_id, registered_at, registered_by) VALUES (?, ?, ?) ON CONFLICT(device_id) DO NOTHING',
      ),
      touchDevice: p(
        `INSERT INTO push_devices (device_id, registered_at, registered_by, last_seen_at, last_address) VALUES (?, ?, 'poll', ?, ?)
         ON CONFLICT(device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_address = excluded.last_address`,
      ),
      insert: p(
        `INSERT INTO push_commands (id, device_id, verb, endpoint, body, content_type, query_string, payload, status, max_attempts, expires_at, created_at, body_encoding)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      ),
      event: p('INSERT INTO push_command_events (command_seq, at, status, attempt, detail) VALUES (?, ?, ?, ?, ?)'),
      events: p('SELECT at, status, attempt, detail FROM push_command_events WHERE command_seq = ? ORDER BY id'),
      byId: p('SELECT * FROM push_commands WHERE id = ?'),
      bySeq: p('SELECT * FROM push_commands WHERE seq = ?'),
      inFlight: p("SELECT * FROM push_commands WHERE device_id = ? AND status = 'delivered' ORDER BY seq LIMIT 1"),
      nextQueued: p("SELECT * FROM push_commands WHERE device_id = ? AND status = 'queued' ORDER BY seq LIMIT 1"),
      deliver: p(
        "UPDATE push_commands SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, deadline_at = ? WHERE seq = ?",
      ),
      finish: p(
        'UPDATE push_commands SET status = ?, reason = ?, finished_at = ?, response = ?, error = ? WHERE seq = ? AND status = ?',
      ),
      finishResult: p(
        `UPDATE push_commands SET status = ?, reason = ?, finished_at = ?, response = ?, response_encoding = ?, error = ?, error_encoding = ?,
         result_endpoint = ?, result_uuid = ? WHERE seq = ? AND status = 'delivered'`,
      ),
      unmatched: p(
        'INSERT INTO push_unmatched_results (device_id, received_at, command_id, reason, body, endpoint) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      addDelivery: p(
        'INSERT INTO push_deliveries (command_seq, device_id, attempt, device_uuid, delivered_at) VALUES (?, ?, ?, ?, ?)',
      ),
      deliveryByUuid: p(
        'SELECT command_seq FROM push_deliveries WHERE device_id = ? AND device_uuid = ? ORDER BY id DESC LIMIT 1',
      ).pluck(),
      lastDelivery: p('SELECT * FROM push_deliveries WHERE command_seq = ? ORDER BY id DESC LIMIT 1'),
      deliveries: p('SELECT * FROM push_deliveries WHERE command_seq = ? ORDER BY id'),
      queuedCounts: p("SELECT device_id, COUNT(*) AS n FROM push_commands WHERE status = 'queued' GROUP BY device_id"),
      allInFlight: p("SELECT * FROM push_commands WHERE status = 'delivered' ORDER BY seq"),
      expiredQueued: p(
        "SELECT seq, id, device_id FROM push_commands WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?",
      ),
      list: p(
        'SELECT * FROM push_commands WHERE device_id = ? AND (? IS NULL OR status = ?) ORDER BY seq LIMIT ? OFFSET ?',
      ),
      dataVersion: p('PRAGMA data_version').pluck(),
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

  /**
   * Stores a device's result against the command it answers, or as unmatched (see docs/push.md,
   * "Matching"): a uuid is a fieldhub command id, else a device uuid bound to a delivery, else — when
   * the device's in-flight delivery has no bound uuid — that delivery; no uuid: the in-flight command.
   * A reported endpoint must be the delivered command's (compared without ".fcgi").
   */
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
        let cmd: CommandRow | undefined;
        let reason = 'no command in flight';
        if (uuid !== undefined) {
          cmd = this.s.byId.get(uuid) as CommandRow | undefined;
          if (cmd && cmd.device_id !== deviceId) cmd = undefined;
          if (!cmd) {
            const seq = this.s.deliveryByUuid.get(deviceId, uuid) as number | undefined;
            if (seq !== undefined) cmd = this.s.bySeq.get(seq) as CommandRow | undefined;
          }
          if (!cmd) {
            const cur = this.s.inFlight.get(deviceId) as CommandRow | undefined;
            const last = cur && (this.s.lastDelivery.get(cur.seq) as DeliveryRow | undefined);
            if (cur && last && last.device_uuid === null) cmd = cur;
            else reason = cur ? 'unknown uuid; the delivery in flight is bound to another uuid' : 'unknown command id';
          }
        } else {
          cmd = this.s.inFlight.get(deviceId) as CommandRow | undefined;
        }
        if (cmd && cmd.status !== 'delivered') {
          reason = `command already ${cmd.status}`;
          cmd = undefined;
        }
        if (cmd && endpoint !== undefined && !sameEndpoint(endpoint, cmd.endpoint)) {
          reason = `endpoint mismatch: reported ${endpoint}, delivered ${cmd.endpoint}`;
          cmd = undefined;
        }
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

  /** Changes whenever another connection (e.g. the CLI) commits. */
  dataVersion(): number {
    return this.s.dataVersion.get() as number;
  }
}

export class UnknownDeviceError extends Error {
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} is not registered (push.allowUnknownDevices is false)`);
  }
}
