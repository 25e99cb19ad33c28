/**
 * The sync module's reads on PostgreSQL (store.driver "postgres"): SyncReads on the pool, and the
 * payloads held in `sync_payloads` (the CLI's decode and retry-failed). Writes are writes-pg.ts.
 */
import type { PgStore } from '../../core/pg.js';
import type { Page } from '../../core/paging.js';
import type { DeviceRow } from './device-row.js';
import type { DeviceFilter, ReceivedRow, SyncReads } from './store.js';

const RECEIVED_COLS = 'id, plugin, node, seq, source, received_at, bytes, status';

/** A BIGINT/BIGSERIAL comes back as a string from `pg`: the ids as numbers (safe far beyond any id in use). */
export function receivedRow(r: Record<string, unknown>): ReceivedRow {
  return { ...(r as unknown as ReceivedRow), id: Number(r.id) };
}

export class SyncStorePg implements SyncReads {
  constructor(private readonly pg: PgStore) {}

  async pendingRows(limit = 100): Promise<ReceivedRow[]> {
    const r = await this.pg.query(
      `SELECT ${RECEIVED_COLS} FROM sync_received WHERE status = 'received' ORDER BY id LIMIT $1`,
      [limit],
    );
    return r.rows.map(receivedRow);
  }

  async failedRows(): Promise<ReceivedRow[]> {
    const r = await this.pg.query(`SELECT ${RECEIVED_COLS} FROM sync_received WHERE status = 'failed' ORDER BY id`);
    return r.rows.map(receivedRow);
  }

  /** The failed payloads whose encoded data is held (the others cannot be processed again). */
  async failedWithPayload(): Promise<ReceivedRow[]> {
    const r = await this.pg.query(
      `SELECT ${RECEIVED_COLS} FROM sync_received r WHERE status = 'failed'
       AND EXISTS (SELECT 1 FROM sync_payloads p WHERE p.id = r.id AND p.name NOT LIKE 'processed\\_%') ORDER BY id`,
    );
    return r.rows.map(receivedRow);
  }

  /** A stored payload by its file name (as under log/plugins on SQLite), or undefined. */
  async payload(name: string): Promise<Buffer | undefined> {
    const r = await this.pg.query<{ data: Buffer }>('SELECT data FROM sync_payloads WHERE name = $1', [name]);
    return r.rows[0]?.data;
  }

  async devicesVersion(): Promise<number> {
    const r = await this.pg.query<{ version: string }>('SELECT version FROM sync_devices_version WHERE id = 1');
    return Number(r.rows[0]!.version);
  }

  /** Version and devices in one REPEATABLE READ transaction (one snapshot, as SQLite's read transaction). */
  async devicesSnapshot<T>(fn: (version: number, devices: () => Iterable<DeviceRow>) => T): Promise<T> {
    const { version, rows } = await this.pg.tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const v = await c.query<{ version: string }>('SELECT version FROM sync_devices_version WHERE id = 1');
      const d = await c.query<DeviceRow>('SELECT * FROM sync_devices ORDER BY mac');
      return { version: Number(v.rows[0]!.version), rows: d.rows };
    });
    return fn(version, () => rows);
  }

  async listDevices(f: DeviceFilter): Promise<Page<DeviceRow>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      params.push(v);
      where.push(cond.replace('?', `$${params.length}`));
    };
    if (f.node !== undefined) add('sync_hub_node = ?', f.node);
    if (f.mac !== undefined) add('mac = ?', f.mac);
    if (f.since !== undefined) add('updated_at >= ?', f.since);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const n = params.length;
    const [count, page] = await Promise.all([
      this.pg.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM sync_devices ${w}`, params),
      this.pg.query<DeviceRow>(`SELECT * FROM sync_devices ${w} ORDER BY mac LIMIT $${n + 1} OFFSET $${n + 2}`, [
        ...params,
        f.limit,
        f.offset,
      ]),
    ]);
    return { total: count.rows[0]!.n, items: page.rows };
  }
}
