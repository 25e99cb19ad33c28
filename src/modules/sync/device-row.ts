/** A row of sync_devices and the device record it stands for (the received fields with the hub's columns laid over them). */

export interface DeviceRow {
  mac: string;
  name: string | null;
  vendor: string | null;
  last_ip: string | null;
  present_last_scan: number | null;
  last_connection: string | null;
  sync_hub_node: string;
  fields: string;
  created_at: string;
  updated_at: string;
}

/** Names NetAlertX uses for "no name yet"; a later payload may fill them in. */
export const PLACEHOLDER_NAMES = ['', '(unknown)', '(name not found)'];

export function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

export function int(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return null;
}

/** A stored device as one record: the received fields with the columns the hub maintains laid over them. */
export function deviceRecord(r: DeviceRow): Record<string, unknown> {
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
