/**
 * This instance's devices as NetAlertX's table_devices.json (GET /sync and push): every device with
 * NetAlertX's Devices columns in NetAlertX's order (columns.ts), every NOT NULL column filled (never
 * `null` there), boolean columns as 0/1, then, with `sync.serveExtraKeys`, the other keys.
 */
import { bit, DEVICE_COLUMNS } from './columns.js';
import { deviceRecord, type DeviceRow } from './device-row.js';
import type { SyncReads } from './store.js';

/** `YYYY-MM-DD HH:MM:SS` in UTC, as NetAlertX 26.4+ writes times. */
export function netalertxTime(d: Date | string = new Date()): string {
  const iso = typeof d === 'string' ? new Date(d).toISOString() : d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** The hub's own record of a device (GET /sync/devices). */
export function deviceOut(r: DeviceRow): Record<string, unknown> {
  return deviceRecord(r);
}

/** Most non-column field names served on every device with serveExtraKeys (the answer is devices x keys). */
export const MAX_EXTRA_KEYS = 256;

/** Keys the original hub drops (`rowid` is the node's, `devStatus` is computed). */
const DROPPED = new Set(['rowid', 'devStatus']);

function served(r: DeviceRow, extra: readonly string[]): Record<string, unknown> {
  const d = deviceRecord(r);
  const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>; // a field named __proto__ stays a field
  for (const c of DEVICE_COLUMNS) {
    let v = d[c.name];
    if (c.bool) v = bit(v) ?? (v === undefined || v === null ? undefined : c.def);
    else if (v !== undefined && v !== null && typeof v === 'object') v = JSON.stringify(v); // a column holds text or numbers
    if (v === undefined || v === null) {
      if (!c.notNull) v = null;
      else if (c.def !== undefined) v = c.def;
      else if (c.fill === 'firstSeen') v = netalertxTime(r.created_at);
      else if (c.fill === 'lastSeen') v = netalertxTime(r.updated_at);
      else v = '';
    }
    o[c.name] = v;
  }
  for (const k of extra) o[k] = d[k] ?? null;
  return o;
}

/** The extra keys to serve: those most devices carry first, at most MAX_EXTRA_KEYS. */
function extraKeys(devices: () => Iterable<DeviceRow>): string[] {
  const seen = new Map<string, number>();
  const known = new Set(DEVICE_COLUMNS.map((c) => c.name));
  for (const r of devices()) {
    for (const k of Object.keys(JSON.parse(r.fields) as object)) {
      if (!known.has(k) && !DROPPED.has(k)) seen.set(k, (seen.get(k) ?? 0) + 1);
    }
  }
  return [...seen]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_EXTRA_KEYS)
    .map(([k]) => k);
}

/**
 * Writes `{"data": [...]}` to `sink` in pieces of about `piece` characters (the whole JSON is never
 * one string). Returns the number of devices. `devices` from one read snapshot (devicesSnapshot).
 */
export function writeDevicesJson(
  devices: () => Iterable<DeviceRow>,
  opts: { extraKeys: boolean },
  sink: (s: string) => void,
  piece = 256 * 1024,
): number {
  const extra = opts.extraKeys ? extraKeys(devices) : [];
  let buf = '{"data":[';
  let n = 0;
  for (const r of devices()) {
    buf += (n++ === 0 ? '' : ',') + JSON.stringify(served(r, extra));
    if (buf.length >= piece) {
      sink(buf);
      buf = '';
    }
  }
  sink(`${buf}]}`);
  return n;
}

/** The same as one string (push). */
export async function devicesJson(
  db: SyncReads,
  opts: { extraKeys: boolean },
): Promise<{ json: string; count: number }> {
  const parts: string[] = [];
  const count = await db.devicesSnapshot((_v, devices) => writeDevicesJson(devices, opts, (s) => parts.push(s)));
  return { json: parts.join(''), count };
}
