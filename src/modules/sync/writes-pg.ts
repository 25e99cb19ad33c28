/**
 * The sync module's writes on PostgreSQL (store.driver "postgres"): the ops of writes.ts with the same
 * names, arguments and results, each run by core's PgWriter in its own transaction (answered after
 * COMMIT). PostgreSQL only:
 * - `sync.receive` also stores the payload itself (`data`) in sync_payloads, in the row's transaction;
 * - `sync.processNext` claims the oldest `received` rows with `FOR UPDATE SKIP LOCKED` (another
 *   replica skips them; a replica that dies mid-group releases them with its connection), reads their
 *   data, decodes and applies them in that one transaction: a payload is processed once across replicas.
 */
import type pg from 'pg';
import type { PgWrites } from '../../core/pg.js';
import { isUnavailable } from '../../core/pg.js';
import { HUB_OWNED } from './columns.js';
import { deviceRecord, int, PLACEHOLDER_NAMES, str, type DeviceRow } from './device-row.js';
import { fileNames } from './names.js';
import { decodePayload, PayloadError, type DeviceIn } from './payload.js';
import { receivedNote, type Behavior, type ReceivedRow } from './store.js';
import { receivedRow } from './store-pg.js';
import { errText, TAG } from './text.js';
import type { Counts, ProcessDone, ProcessItem, ProcessNextDone, SyncWrites } from './writes.js';

type C = pg.PoolClient;
const iso = () => new Date().toISOString();

async function notify(c: C, level: 'info' | 'alert', text: string): Promise<void> {
  await c.query("INSERT INTO notifications (created_at, module, level, text) VALUES (now(), 'sync', $1, $2)", [
    level,
    text,
  ]);
}

async function setStatus(c: C, id: number, status: string, error: string | null, items: number | null) {
  await c.query('UPDATE sync_received SET status = $2, error = $3, processed_at = $4, items = $5 WHERE id = $1', [
    id,
    status,
    error,
    iso(),
    items,
  ]);
}

async function markFailed(c: C, id: number, status: 'failed' | 'lost', error: string, note: string) {
  await setStatus(c, id, status, error, null);
  await notify(c, 'alert', note);
}

const NUL = '\u0000';
/**
 * A device column's text: as store.ts (str), but NULL for a value holding a NUL, which PostgreSQL
 * keeps in no text column. The exact value stays in `fields` (JSON escapes the NUL), and
 * deviceRecord serves a NULL column from `fields`: the device reads back as it came.
 */
const col = (v: unknown): string | null => {
  const t = str(v);
  return t !== null && t.includes(NUL) ? null : t;
};

const COLS =
  'mac, name, vendor, last_ip, present_last_scan, last_connection, sync_hub_node, fields, created_at, updated_at';
const VALUES = 'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)';
const PLACEHOLDERS = PLACEHOLDER_NAMES.map((n) => `'${n}'`).join(', ');
/** as store.ts's three statements; `RETURNING (xmax = 0)` tells an insert from an update */
const UPSERT = {
  merge: `INSERT INTO sync_devices AS d (${COLS}) ${VALUES}
    ON CONFLICT (mac) DO UPDATE SET
      last_ip = COALESCE(excluded.last_ip, d.last_ip),
      present_last_scan = COALESCE(excluded.present_last_scan, d.present_last_scan),
      last_connection = COALESCE(excluded.last_connection, d.last_connection),
      name = CASE WHEN (d.name IS NULL OR d.name IN (${PLACEHOLDERS})) AND excluded.name IS NOT NULL
                  THEN excluded.name ELSE d.name END,
      sync_hub_node = excluded.sync_hub_node,
      updated_at = excluded.updated_at
    RETURNING (xmax = 0) AS inserted`,
  insertNew: `INSERT INTO sync_devices (${COLS}) ${VALUES} ON CONFLICT (mac) DO NOTHING RETURNING true AS inserted`,
  overwrite: `INSERT INTO sync_devices AS d (${COLS}) ${VALUES}
    ON CONFLICT (mac) DO UPDATE SET name = excluded.name, vendor = excluded.vendor, last_ip = excluded.last_ip,
      present_last_scan = excluded.present_last_scan, last_connection = excluded.last_connection,
      sync_hub_node = excluded.sync_hub_node, fields = excluded.fields, updated_at = excluded.updated_at
    RETURNING (xmax = 0) AS inserted`,
};

/** store.ts applyDevices on PostgreSQL (the same four behaviours), in the caller's transaction. */
async function applyDevices(c: C, id: number, node: string, devices: DeviceIn[], behavior: Behavior) {
  // devices are applied one payload at a time across replicas (as SQLite's one writer): no deadlock
  // between two payloads touching the same devices in another order
  await c.query('SELECT version FROM sync_devices_version WHERE id = 1 FOR UPDATE');
  const now = iso();
  const old = new Map<string, DeviceRow>();
  if (behavior === 'carbon-copy' || behavior === 'hub-defaults') {
    const r = await c.query<DeviceRow>('SELECT * FROM sync_devices WHERE mac = ANY($1)', [devices.map((d) => d.mac)]);
    for (const row of r.rows) old.set(row.mac, row);
  }
  let inserted = 0;
  let changed = 0;
  for (const d of devices) {
    let f: Record<string, unknown> = d.fields;
    f.devSyncHubNode = node;
    let sql = behavior === 'merge' ? UPSERT.merge : behavior === 'copy-new' ? UPSERT.insertNew : UPSERT.overwrite;
    if (behavior === 'carbon-copy' || behavior === 'hub-defaults') {
      const o = old.get(d.mac);
      if (o) {
        const kept = deviceRecord(o);
        const merged: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        Object.assign(merged, kept);
        for (const [k, v] of Object.entries(f)) {
          if (behavior === 'hub-defaults' && HUB_OWNED.has(k) && kept[k] !== undefined && kept[k] !== null) continue;
          merged[k] = v;
        }
        f = merged;
      } else sql = UPSERT.insertNew;
    }
    const r = await c.query<{ inserted: boolean }>(sql, [
      d.mac,
      col(f.devName),
      col(f.devVendor),
      col(f.devLastIP),
      int(f.devPresentLastScan),
      col(f.devLastConnection),
      node,
      JSON.stringify(f),
      now,
    ]);
    changed += r.rowCount ?? 0;
    if (r.rows[0]?.inserted) inserted++;
  }
  await setStatus(c, id, 'processed', null, devices.length);
  return { inserted, updated: changed - inserted };
}

async function applyRows(c: C, p: ProcessItem, rows: unknown[]) {
  const now = iso();
  await c.query('DELETE FROM sync_plugin_rows WHERE plugin = $1 AND node = $2', [p.plugin, p.node]);
  // multi-row inserts of up to 500 rows: $1..$4 plugin, node, seq, received_at; then (idx, data) pairs
  for (let i = 0; i < rows.length; i += 500) {
    const part = rows.slice(i, i + 500);
    const params: unknown[] = [p.plugin, p.node, p.seq, now];
    const tuples = part.map((r, j) => {
      params.push(i + j, JSON.stringify(r));
      return `($1, $2, $${params.length - 1}, $3, $${params.length}, $4)`;
    });
    await c.query(
      `INSERT INTO sync_plugin_rows (plugin, node, idx, seq, data, received_at) VALUES ${tuples.join(', ')}`,
      params,
    );
  }
  await setStatus(c, p.id, 'processed', null, rows.length);
}

/** One prepared payload in a savepoint of its own: its failure rolls back alone (writes.ts apply). */
async function applyOne(c: C, p: ProcessItem & { outcome: 'ok' }, behavior: Behavior): Promise<Counts | undefined> {
  const parsed = p.parsed;
  if (parsed.kind === 'devices') {
    // PostgreSQL keeps no NUL in text: a device whose MAC holds one cannot be keyed here (SQLite keeps it)
    const storable = parsed.devices.filter((d) => !d.mac.includes(NUL));
    const unkeyable = parsed.devices.length - storable.length;
    const { inserted, updated } = await applyDevices(c, p.id, p.node, storable, behavior);
    const skipped =
      (parsed.skipped ? `, ${parsed.skipped} skipped (no devMac or duplicate)` : '') +
      (unkeyable ? `, ${unkeyable} skipped (a NUL in devMac)` : '');
    await notify(
      c,
      'info',
      `${TAG} Processed ${p.encoded} from "${p.node}": inserted "${inserted}" new devices, updated ${updated}${skipped}`,
    );
    return { inserted, updated, skipped: parsed.skipped + unkeyable };
  }
  await applyRows(c, p, parsed.rows);
  await notify(c, 'info', `${TAG} Processed ${p.encoded} from "${p.node}": ${parsed.rows.length} ${p.plugin} rows`);
  return undefined;
}

async function processGroup(c: C, behavior: Behavior, items: ProcessItem[]): Promise<ProcessDone[]> {
  const out: ProcessDone[] = [];
  for (const p of items) {
    let done: ProcessDone;
    if (p.outcome === 'ok') {
      await c.query('SAVEPOINT sync_apply');
      try {
        done = { outcome: 'ok', counts: await applyOne(c, p, behavior) };
        await c.query('RELEASE SAVEPOINT sync_apply');
      } catch (e) {
        if (isUnavailable(e)) throw e;
        await c.query('ROLLBACK TO SAVEPOINT sync_apply');
        done = { outcome: 'failed', reason: errText(e), applyFailed: true };
      }
    } else done = { outcome: p.outcome, reason: p.reason };
    if (done.outcome !== 'ok')
      await markFailed(
        c,
        p.id,
        done.outcome,
        done.reason,
        `${TAG} Failed to process ${p.encoded} from "${p.node}": ${done.reason}`,
      );
    out.push(done);
  }
  return out;
}

/** Claims, reads, decodes and applies the oldest unclaimed `received` payloads (see the file comment). */
async function processNext(c: C, a: SyncWrites['sync.processNext']['args']): Promise<ProcessNextDone> {
  const locked = await c.query(
    `SELECT id, plugin, node, seq, source, received_at, bytes, status FROM sync_received
     WHERE status = 'received' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [a.max],
  );
  const group: ReceivedRow[] = [];
  let bytes = 0;
  for (const row of locked.rows.map(receivedRow)) {
    if (group.length > 0 && bytes + row.bytes > a.maxBytes) break;
    group.push(row);
    bytes += row.bytes;
  }
  if (group.length === 0) return { rows: [], done: [] };
  const data = await c.query<{ id: string; data: Buffer }>(
    "SELECT id, data FROM sync_payloads WHERE id = ANY($1) AND name NOT LIKE 'processed\\_%'",
    [group.map((r) => r.id)],
  );
  const byId = new Map(data.rows.map((r) => [Number(r.id), r.data]));
  const items = group.map((r): ProcessItem => {
    const base = {
      id: r.id,
      plugin: r.plugin,
      node: r.node,
      seq: r.seq,
      encoded: fileNames(r.plugin, r.node, r.seq).encoded,
    };
    const raw = byId.get(r.id);
    if (!raw) return { ...base, outcome: 'lost', reason: 'the stored payload is missing' };
    try {
      const d = decodePayload(raw.toString('utf8'), { plugin: r.plugin, passphrase: a.passphrase, source: r.source });
      return { ...base, outcome: 'ok', parsed: d.parsed };
    } catch (e) {
      return { ...base, outcome: 'failed', reason: e instanceof PayloadError ? e.message : errText(e) };
    }
  });
  return { rows: group, done: await processGroup(c, a.behavior, items) };
}

type Ops = { [K in keyof SyncWrites]: (c: C, args: SyncWrites[K]['args']) => Promise<SyncWrites[K]['value']> };

export function writesPg(): PgWrites {
  const ops: Ops = {
    'sync.receive': async (c, r) => {
      const seq = await c.query<{ last_seq: number }>(
        `INSERT INTO sync_sequences AS s (plugin, node, last_seq) VALUES ($1, $2, 1)
         ON CONFLICT (plugin, node) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq`,
        [r.plugin, r.node],
      );
      const n = seq.rows[0]!.last_seq;
      const ins = await c.query<{ id: string }>(
        `INSERT INTO sync_received (plugin, node, seq, source, received_at, bytes, client_file_path, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'received') RETURNING id`,
        [r.plugin, r.node, n, r.source, iso(), r.bytes, r.clientFilePath ?? null],
      );
      const id = Number(ins.rows[0]!.id);
      if (r.data !== undefined)
        await c.query('INSERT INTO sync_payloads (name, id, data) VALUES ($1, $2, $3)', [
          fileNames(r.plugin, r.node, n).encoded,
          id,
          Buffer.from(r.data, 'utf8'),
        ]);
      await notify(c, 'info', receivedNote(r, n));
      return { id, seq: n };
    },
    'sync.markFailed': (c, a) => markFailed(c, a.id, a.status, a.error, a.note),
    'sync.process': (c, a) => processGroup(c, a.behavior, a.items),
    'sync.processNext': processNext,
    'sync.requeue': async (c, id) => {
      await c.query(
        "UPDATE sync_received SET status = 'received', error = NULL, processed_at = NULL, items = NULL WHERE id = $1 AND status = 'failed'",
        [id],
      );
    },
    'sync.notify': async (c, a) => {
      for (const t of a.texts) await notify(c, a.level, t);
    },
    'sync.markRead': async (c, a) => {
      const r = await c.query("SELECT 1 FROM notifications WHERE id = $1 AND module = 'sync'", [a.id]);
      if (r.rowCount === 0) return false;
      await c.query('INSERT INTO sync_notifications_read (id, read_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
        a.id,
        a.at,
      ]);
      return true;
    },
    'sync.markAllRead': async (c, a) => {
      const r = await c.query(
        `INSERT INTO sync_notifications_read (id, read_at)
         SELECT n.id, $1 FROM notifications n WHERE n.id <= $2 AND n.module = 'sync'
           AND NOT EXISTS (SELECT 1 FROM sync_notifications_read r WHERE r.id = n.id)
         ON CONFLICT (id) DO NOTHING`,
        [a.at, a.upToId ?? Number.MAX_SAFE_INTEGER],
      );
      return r.rowCount ?? 0;
    },
  };
  return ops as unknown as PgWrites;
}
