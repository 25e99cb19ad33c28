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

/** This instance's devices table as NetAlertX's table_devices.json: `{"data": [...]}`, same keys on every device. */
export function devicesJson(db: SyncStore): string {
  const devices: Array<Record<string, unknown>> = [];
  const extra = new Set<string>();
  const canonical = new Set(CANONICAL.map(([k]) => k));
  for (const r of db.devices()) {
    const d = deviceOut(r);
    for (const k of Object.keys(d)) if (!canonical.has(k)) extra.add(k);
    devices.push(d);
  }
  const out = devices.map((d) => {
    const o: Record<string, unknown> = {};
    for (const [k, def] of CANONICAL) o[k] = d[k] ?? def;
    for (const k of extra) o[k] = d[k] ?? null;
    return o;
  });
  return JSON.stringify({ data: out });
}
