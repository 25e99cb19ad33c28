/**
 * The push module's reads on PostgreSQL (store.driver "postgres"): the PushReads of store.ts on the
 * pool, and the per-device queue state the replicas' in-memory indexes follow (queue-feed-pg.ts).
 * Writes are writes-pg.ts. BIGINT columns (seq, ids, versions) are read as numbers: they stay far
 * below 2^53.
 */
import pg from 'pg';
import type { PgStore } from '../../core/pg.js';
import type { CommandRow, DeliveryRow, DeviceRow, EventRow } from './rows.js';
import type { Status } from './schemas.js';
import type { PushReads, QueueSnapshot } from './store.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** int8 (BIGINT, COUNT) as a JS number; every other type as the driver reads it */
function typeParser(oid: number, format?: 'text' | 'binary'): (v: string) => unknown {
  if (oid === 20) return (v) => Number(v);
  return pg.types.getTypeParser(oid, format) as (v: string) => unknown;
}
const types: pg.CustomTypesConfig = { getTypeParser: typeParser };

/** One statement on a client or the pool, int8 read as numbers. */
export async function q<R extends pg.QueryResultRow>(
  c: pg.ClientBase | pg.Pool,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  return c.query<R>({ text, values, types });
}

/** A device's row with its queue state as of one statement (the index's unit of update). */
export interface DeviceState extends DeviceRow {
  /** push_queue.version, 0 when the device never had a command */
  version: number;
  queued: number;
  /** the in-flight command, if any */
  seq: number | null;
  deadline_at: string | null;
  attempts: number | null;
  max_attempts: number | null;
  expires_at: string | null;
}

const STATE_SQL = `
  SELECT d.device_id, d.registered_at, d.registered_by, d.last_seen_at, d.last_address,
         COALESCE(pq.version, 0) AS version,
         (SELECT COUNT(*) FROM push_commands c WHERE c.device_id = d.device_id AND c.status = 'queued') AS queued,
         f.seq, f.deadline_at, f.attempts, f.max_attempts, f.expires_at
    FROM push_devices d
    LEFT JOIN push_queue pq ON pq.device_id = d.device_id
    LEFT JOIN LATERAL (
      SELECT seq, deadline_at, attempts, max_attempts, expires_at FROM push_commands c
       WHERE c.device_id = d.device_id AND c.status = 'delivered' ORDER BY seq LIMIT 1
    ) f ON true`;

export class PushStorePg implements PushReads {
  constructor(private readonly pg: PgStore) {}

  /** a query on the pool; an unreachable database throws StoreUnavailableError (503) */
  private async rows<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.pg.query<R>({ text, values, types })).rows;
  }

  async device(id: string): Promise<DeviceRow | undefined> {
    return (await this.rows<DeviceRow>('SELECT * FROM push_devices WHERE device_id = $1', [id]))[0];
  }

  devices(): Promise<DeviceRow[]> {
    return this.rows<DeviceRow>('SELECT * FROM push_devices');
  }

  /** Every device with its queue state (one statement, so one consistent view). */
  states(): Promise<DeviceState[]> {
    return this.rows<DeviceState>(STATE_SQL);
  }

  /** These devices with their queue state (those not registered are left out). */
  statesOf(ids: readonly string[]): Promise<DeviceState[]> {
    return this.rows<DeviceState>(`${STATE_SQL} WHERE d.device_id = ANY($1::text[])`, [ids]);
  }

  async snapshot(): Promise<QueueSnapshot> {
    const queued = await this.rows<{ device_id: string; n: number }>(
      "SELECT device_id, COUNT(*) AS n FROM push_commands WHERE status = 'queued' GROUP BY device_id",
    );
    const inFlight = await this.rows<CommandRow>("SELECT * FROM push_commands WHERE status = 'delivered' ORDER BY seq");
    return { queued, inFlight, maxSeq: await this.maxSeq() };
  }

  async maxSeq(): Promise<number> {
    return (await this.rows<{ m: number | null }>('SELECT MAX(seq) AS m FROM push_commands'))[0]!.m ?? 0;
  }

  async expiredQueuedExist(now: number): Promise<boolean> {
    const r = await this.rows(
      "SELECT 1 FROM push_commands WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= $1 LIMIT 1",
      [iso(now)],
    );
    return r.length > 0;
  }

  async byId(id: string): Promise<CommandRow | undefined> {
    return (await this.rows<CommandRow>('SELECT * FROM push_commands WHERE id = $1', [id]))[0];
  }

  deliveries(seq: number): Promise<DeliveryRow[]> {
    return this.rows<DeliveryRow>('SELECT * FROM push_deliveries WHERE command_seq = $1 ORDER BY id', [seq]);
  }

  events(seq: number): Promise<EventRow[]> {
    return this.rows<EventRow>(
      'SELECT at, status, attempt, detail FROM push_command_events WHERE command_seq = $1 ORDER BY id',
      [seq],
    );
  }

  list(deviceId: string, status: Status | undefined, limit: number, offset: number): Promise<CommandRow[]> {
    return this.rows<CommandRow>(
      'SELECT * FROM push_commands WHERE device_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY seq LIMIT $3 OFFSET $4',
      [deviceId, status ?? null, limit, offset],
    );
  }

  async failedSince(since: Date): Promise<number> {
    const r = await this.rows<{ n: number }>(
      "SELECT COUNT(*) AS n FROM push_commands WHERE status IN ('failed', 'expired') AND finished_at >= $1",
      [since.toISOString()],
    );
    return r[0]!.n;
  }
}
