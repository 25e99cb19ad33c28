/**
 * The sync module's reads (`SyncReads`, one interface for both drivers: store-pg.ts is PostgreSQL's)
 * and its SQLite access: statements prepared once, writes grouped in transactions. In the server the
 * write methods run on the core writer thread's connection (writes.ts); the main thread's instance
 * only reads. The CLI, a process of its own, writes through it directly.
 */
import type { DB } from '../../core/db.js';
import { PagedList, type Page } from '../../core/paging.js';
import { HUB_OWNED } from './columns.js';
import { deviceRecord, int, PLACEHOLDER_NAMES, str, type DeviceRow } from './device-row.js';
import { fileNames } from './names.js';
import type { DeviceIn } from './payload.js';
import { TAG } from './text.js';

export type Behavior = 'merge' | 'copy-new' | 'carbon-copy' | 'hub-defaults';

export type Source = 'post' | 'pull';

export interface ReceivedRow {
  id: number;
  plugin: string;
  node: string;
  seq: number;
  source: Source;
  received_at: string;
  bytes: number;
  status: 'received' | 'processed' | 'failed' | 'lost';
}

export interface DeviceFilter {
  node?: string;
  mac?: string;
  since?: string;
  limit: number;
  offset: number;
}

/** one received payload to number and record (receiveMany takes a batch of them) */
export interface ReceiveItem {
  plugin: string;
  node: string;
  source: Source;
  bytes: number;
  clientFilePath?: string;
  /** PostgreSQL only: the payload itself, stored in sync_payloads in the row's transaction */
  data?: string;
}

/** The "received" notification of a payload numbered `seq`. */
export function receivedNote(r: Pick<ReceiveItem, 'plugin' | 'node' | 'source'>, seq: number): string {
  const file = fileNames(r.plugin, r.node, seq).encoded;
  return r.source === 'pull'
    ? `${TAG} Device data from node "${r.node}" received (${file})`
    : `${TAG} Data received (${file})`;
}

type Maybe<T> = T | Promise<T>;

/**
 * What the server reads of the sync tables, on either driver: SQLite answers synchronously (prepared
 * statements; `await` of a plain value costs one microtask), PostgreSQL with promises (store-pg.ts).
 */
export interface SyncReads {
  /** `received` rows, oldest first */
  pendingRows(limit?: number): Maybe<ReceivedRow[]>;
  failedRows(): Maybe<ReceivedRow[]>;
  /** changes with every write to the devices table, by anyone */
  devicesVersion(): Maybe<number>;
  /** `fn` with the devices version and the devices (by MAC), read in one consistent snapshot */
  devicesSnapshot<T>(fn: (version: number, devices: () => Iterable<DeviceRow>) => T): Maybe<T>;
  listDevices(f: DeviceFilter): Maybe<Page<DeviceRow>>;
}

export class SyncStore implements SyncReads {
  private readonly db: DB;
  private readonly nextSeq;
  private readonly insertReceived;
  private readonly setStatus;
  private readonly pending;
  private readonly failed;
  private readonly requeueStmt;
  private readonly statusStmt;
  private readonly upsertDevice;
  private readonly countDevices;
  private readonly insertNew;
  private readonly overwrite;
  private readonly oneDevice;
  private readonly versionStmt;
  private readonly deleteRows;
  private readonly insertRow;
  private readonly allDevices;
  private readonly insertNotification;
  private readonly lastIdStmt;
  private readonly deviceList;

  constructor(db: DB) {
    this.db = db;
    // core's notifications table (Store.notify's statement), written on this store's connection
    this.insertNotification = db.prepare<[string, string, string]>(
      "INSERT INTO notifications (created_at, module, level, text) VALUES (?, 'sync', ?, ?)",
    );
    this.nextSeq = db
      .prepare<[string, string]>(
        `INSERT INTO sync_sequences (plugin, node, last_seq) VALUES (?, ?, 1)
         ON CONFLICT (plugin, node) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq`,
      )
      .pluck();
    this.insertReceived = db.prepare(
      `INSERT INTO sync_received (plugin, node, seq, source, received_at, bytes, client_file_path, status)
       VALUES (@plugin, @node, @seq, @source, @received_at, @bytes, @client_file_path, 'received')`,
    );
    this.setStatus = db.prepare(
      'UPDATE sync_received SET status = @status, error = @error, processed_at = @at, items = @items WHERE id = @id',
    );
    this.pending = db.prepare<[number]>(
      `SELECT id, plugin, node, seq, source, received_at, bytes, status FROM sync_received
       WHERE status = 'received' ORDER BY id LIMIT ?`,
    );
    this.failed = db.prepare(
      `SELECT id, plugin, node, seq, source, received_at, bytes, status FROM sync_received WHERE status = 'failed' ORDER BY id`,
    );
    this.statusStmt = db.prepare<[string, number], { node: string; status: ReceivedRow['status'] }>(
      'SELECT node, status FROM sync_received WHERE plugin = ? AND seq = ?',
    );
    this.requeueStmt = db.prepare(
      "UPDATE sync_received SET status = 'received', error = NULL, processed_at = NULL, items = NULL WHERE id = ? AND status = 'failed'",
    );
    this.upsertDevice = db.prepare(
      `INSERT INTO sync_devices (mac, name, vendor, last_ip, present_last_scan, last_connection, sync_hub_node, fields, created_at, updated_at)
       VALUES (@mac, @name, @vendor, @last_ip, @present_last_scan, @last_connection, @node, @fields, @now, @now)
       ON CONFLICT (mac) DO UPDATE SET
         last_ip = COALESCE(excluded.last_ip, last_ip),
         present_last_scan = COALESCE(excluded.present_last_scan, present_last_scan),
         last_connection = COALESCE(excluded.last_connection, last_connection),
         name = CASE WHEN (name IS NULL OR name IN (${PLACEHOLDER_NAMES.map((n) => `'${n}'`).join(', ')})) AND excluded.name IS NOT NULL
                     THEN excluded.name ELSE name END,
         sync_hub_node = excluded.sync_hub_node,
         updated_at = excluded.updated_at`,
    );
    this.insertNew = db.prepare(
      `INSERT INTO sync_devices (mac, name, vendor, last_ip, present_last_scan, last_connection, sync_hub_node, fields, created_at, updated_at)
       VALUES (@mac, @name, @vendor, @last_ip, @present_last_scan, @last_connection, @node, @fields, @now, @now)
       ON CONFLICT (mac) DO NOTHING`,
    );
    this.overwrite = db.prepare(
      `INSERT INTO sync_devices (mac, name, vendor, last_ip, present_last_scan, last_connection, sync_hub_node, fields, created_at, updated_at)
       VALUES (@mac, @name, @vendor, @last_ip, @present_last_scan, @last_connection, @node, @fields, @now, @now)
       ON CONFLICT (mac) DO UPDATE SET name = excluded.name, vendor = excluded.vendor, last_ip = excluded.last_ip,
         present_last_scan = excluded.present_last_scan, last_connection = excluded.last_connection,
         sync_hub_node = excluded.sync_hub_node, fields = excluded.fields, updated_at = excluded.updated_at`,
    );
    this.oneDevice = db.prepare<[string], DeviceRow>('SELECT * FROM sync_devices WHERE mac = ?');
    this.versionStmt = db.prepare<[], number>('SELECT version FROM sync_devices_version WHERE id = 1').pluck();
    this.countDevices = db.prepare('SELECT count(*) AS n FROM sync_devices').pluck();
    this.deleteRows = db.prepare<[string, string]>('DELETE FROM sync_plugin_rows WHERE plugin = ? AND node = ?');
    this.insertRow = db.prepare(
      'INSERT INTO sync_plugin_rows (plugin, node, idx, seq, data, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.allDevices = db.prepare('SELECT * FROM sync_devices ORDER BY mac');
    this.lastIdStmt = db.prepare<[], number>('SELECT COALESCE(MAX(id), 0) FROM sync_received').pluck();
    this.deviceList = new PagedList<DeviceRow>(db, { select: '*', from: 'sync_devices', orderBy: 'mac' });
  }

  /**
   * Takes the next sequence number of each payload's (plugin, node) and records the payloads with
   * their "received" notifications, all in one transaction (one commit for a batch of requests).
   * A number is never handed out again.
   */
  receiveMany(items: readonly ReceiveItem[]) {
    return this.db
      .transaction(() => {
        const at = new Date().toISOString();
        return items.map((r) => {
          const seq = this.nextSeq.get(r.plugin, r.node) as number;
          const info = this.insertReceived.run({
            plugin: r.plugin,
            node: r.node,
            seq,
            source: r.source,
            received_at: at,
            bytes: r.bytes,
            client_file_path: r.clientFilePath ?? null,
          });
          this.notify('info', receivedNote(r, seq));
          return { id: Number(info.lastInsertRowid), seq };
        });
      })
      .immediate();
  }

  /** Records a sync notification (as core's Store.notify does for module 'sync'). */
  notify(level: 'info' | 'alert', text: string): void {
    this.insertNotification.run(new Date().toISOString(), level, text);
  }

  /** The highest id of sync_received (0 when empty). */
  lastId(): number {
    return this.lastIdStmt.get()!;
  }

  failedRows(): ReceivedRow[] {
    return this.failed.all() as ReceivedRow[];
  }

  /** Puts a failed payload back in the queue. */
  requeue(id: number): void {
    this.requeueStmt.run(id);
  }

  /** The payloads of a plugin with this sequence number (one per node), to match a file name against. */
  rowsOf(plugin: string, seq: number): Array<{ node: string; status: ReceivedRow['status'] }> {
    return this.statusStmt.all(plugin, seq);
  }

  pendingRows(limit = 100): ReceivedRow[] {
    return this.pending.all(limit) as ReceivedRow[];
  }

  markFailed(id: number, status: 'failed' | 'lost', error: string, note: string): void {
    this.db.transaction(() => {
      this.setStatus.run({ id, status, error, at: new Date().toISOString(), items: null });
      this.notify('alert', note);
    })();
  }

  /**
   * Applies a devices payload by `behavior` (docs/sync.md) and marks it processed, in one transaction.
   * - merge: new devices inserted; known ones get the presence fields, a real name over a placeholder, the node.
   * - copy-new: new devices inserted; known ones left as they are.
   * - carbon-copy: every key the node sent overwrites the stored one.
   * - hub-defaults: as carbon-copy, except the hub-owned fields of a known device (columns.ts HUB_OWNED).
   */
  applyDevices(
    id: number,
    node: string,
    devices: DeviceIn[],
    behavior: Behavior,
    note: (inserted: number, updated: number) => string,
  ) {
    return this.db
      .transaction(() => {
        const before = this.countDevices.get() as number;
        const now = new Date().toISOString();
        let changed = 0;
        for (const d of devices) {
          let f: Record<string, unknown> = d.fields;
          f.devSyncHubNode = node;
          let stmt =
            behavior === 'merge' ? this.upsertDevice : behavior === 'copy-new' ? this.insertNew : this.overwrite;
          if (behavior === 'carbon-copy' || behavior === 'hub-defaults') {
            const old = this.oneDevice.get(d.mac);
            if (old) {
              const kept = deviceRecord(old);
              const merged: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
              Object.assign(merged, kept);
              for (const [k, v] of Object.entries(f)) {
                if (behavior === 'hub-defaults' && HUB_OWNED.has(k) && kept[k] !== undefined && kept[k] !== null)
                  continue;
                merged[k] = v;
              }
              f = merged;
            } else stmt = this.insertNew;
          }
          changed += stmt.run({
            mac: d.mac,
            name: str(f.devName),
            vendor: str(f.devVendor),
            last_ip: str(f.devLastIP),
            present_last_scan: int(f.devPresentLastScan),
            last_connection: str(f.devLastConnection),
            node,
            fields: JSON.stringify(f),
            now,
          }).changes;
        }
        const inserted = (this.countDevices.get() as number) - before;
        const updated = changed - inserted;
        this.setStatus.run({ id, status: 'processed', error: null, at: now, items: devices.length });
        this.notify('info', note(inserted, updated));
        return { inserted, updated };
      })
      .immediate();
  }

  /** Changes with every write to the devices table, by anyone (migration 2's triggers). */
  devicesVersion(): number {
    return this.versionStmt.get() as number;
  }

  /** Runs `fn` inside one read transaction (a consistent snapshot for a version and the rows). */
  snapshot<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  devicesSnapshot<T>(fn: (version: number, devices: () => Iterable<DeviceRow>) => T): T {
    return this.snapshot(() => fn(this.devicesVersion(), () => this.devices()));
  }

  /** Replaces the stored rows of (plugin, node) with this payload's and marks it processed. */
  applyRows(id: number, plugin: string, node: string, seq: number, rows: unknown[], note: string): void {
    this.db
      .transaction(() => {
        const now = new Date().toISOString();
        this.deleteRows.run(plugin, node);
        rows.forEach((r, i) => this.insertRow.run(plugin, node, i, seq, JSON.stringify(r), now));
        this.setStatus.run({ id, status: 'processed', error: null, at: now, items: rows.length });
        this.notify('info', note);
      })
      .immediate();
  }

  devices(): IterableIterator<DeviceRow> {
    return this.allDevices.iterate() as IterableIterator<DeviceRow>;
  }

  listDevices(f: DeviceFilter): Page<DeviceRow> {
    const where: string[] = [];
    if (f.node !== undefined) where.push('sync_hub_node = @node');
    if (f.mac !== undefined) where.push('mac = @mac');
    if (f.since !== undefined) where.push('updated_at >= @since');
    return this.deviceList.page(where, { node: f.node, mac: f.mac, since: f.since }, f);
  }
}
