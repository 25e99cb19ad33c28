/** This instance's devices as NetAlertX's table_devices.json (GET /sync and push). */
import type { DeviceRow, SyncStore } from './store.js';

/** Keys every served device carries, in this order (the original hub inserts by the first device's keys). */
const CANONICAL: Array<[string, unknown]> = [
  ['devMac', ''],
  ['devName', ''],
  ['devVendor', ''],
  ['devLastIP', ''],
  ['devPresentLastScan', 0],
  ['devLastConnection', ''],
  ['devFirstConnection', ''],
  ['devGUID', ''],
  ['devSyncHubNode', ''],
];

export function deviceOut(r: DeviceRow): Record<string, unknown> {
  const f = JSON.parse(r.fields) as Record<string, unknown>;
  f.devMac = r.mac;
  if (r.name !== null) f.devName = r.name;
  if (r.vendor !== null) f.devVendor = r.vendor;
  if (r.last_ip !== null) f.devLastIP = r.last_ip;
  if (r.present_last_scan !== null) f.devPresentLastScan = r.present_last_scan;
  if (r.last_connection !== null) f.devLastConnection = r.last_connection;
  f.devSyncHubNode = r.sync_hub_node;
  return f;
}

/** Most non-canonical field names served on every device (NetAlertX's Devices table has about 40 columns). */
export const MAX_EXTRA_KEYS = 256;

/** This instance's devices table as NetAlertX's table_devices.json: `{"data": [...]}`, same keys on every device. */
export function devicesJson(db: SyncStore): string {
  const devices: Array<Record<string, unknown>> = [];
  const seen = new Map<string, number>();
  const canonical = new Set(CANONICAL.map(([k]) => k));
  for (const r of db.devices()) {
    const d = deviceOut(r);
    for (const k of Object.keys(d)) if (!canonical.has(k)) seen.set(k, (seen.get(k) ?? 0) + 1);
    devices.push(d);
  }
  // every key goes on every device, so the answer is devices x keys: past MAX_EXTRA_KEYS (the ones most
  // devices carry win) a few nodes sending many distinct field names would make it gigabytes
  const extra = [...seen].sort((a, b) => b[1] - a[1]).slice(0, MAX_EXTRA_KEYS).map(([k]) => k);
  const out = devices.map((d) => {
    // no prototype: a field named __proto__ stays a field
    const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, def] of CANONICAL) o[k] = d[k] ?? def;
    for (const k of extra) o[k] = d[k] ?? null;
    return o;
  });
  return JSON.stringify({ data: out });
}
