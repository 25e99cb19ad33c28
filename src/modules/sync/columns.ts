/**
 * NetAlertX's Devices table: columns in NetAlertX's order, NOT NULL columns with their defaults,
 * the boolean columns (CHECK (x IN (0, 1))). Taken from NetAlertX 26.5-26.8
 * `server/db/schema/app.sql` (as summarised in ../shared/specs/peer-notes.md, section NetAlertX);
 * 26.1 ships fewer columns in its base schema and adds these by migration at start-up.
 * The one table fieldhub serves devices by (GET /sync, push).
 */

export interface Column {
  name: string;
  /** NOT NULL in NetAlertX */
  notNull: boolean;
  /** NetAlertX's column default; for NOT NULL columns without one, what fieldhub fills in (see `fill`) */
  def?: string | number;
  /** NOT NULL without a default: fieldhub fills it from the hub's own record of the device */
  fill?: 'firstSeen' | 'lastSeen' | 'empty';
  /** CHECK (x IN (0, 1)) */
  bool?: boolean;
}

const c = (name: string, o: Partial<Column> = {}): Column => ({ name, notNull: false, ...o });
const nn = (name: string, def: string | number, bool = false): Column => ({ name, notNull: true, def, bool });
const nb = (name: string, def: 0 | 1): Column => nn(name, def, true);

export const DEVICE_COLUMNS: readonly Column[] = [
  { name: 'devMac', notNull: true, fill: 'empty' },
  nn('devName', '(unknown)'),
  nn('devOwner', '(unknown)'),
  c('devType'),
  c('devVendor'),
  nb('devFavorite', 0),
  c('devGroup'),
  c('devComments'),
  { name: 'devFirstConnection', notNull: true, fill: 'firstSeen' },
  { name: 'devLastConnection', notNull: true, fill: 'lastSeen' },
  { name: 'devLastIP', notNull: true, fill: 'empty' },
  c('devPrimaryIPv4'),
  c('devPrimaryIPv6'),
  c('devVlan'),
  c('devForceStatus'),
  nb('devStaticIP', 0),
  nb('devScan', 1),
  nb('devLogEvents', 1),
  nb('devAlertEvents', 1),
  nb('devAlertDown', 0),
  nb('devSkipRepeated', 0),
  c('devLastNotification'),
  nb('devPresentLastScan', 0),
  nb('devIsNew', 1),
  c('devLocation'),
  nb('devIsArchived', 0),
  c('devParentMAC'),
  c('devParentPort'),
  c('devParentRelType'),
  c('devIcon'),
  c('devGUID'),
  c('devSite'),
  c('devSSID'),
  c('devSyncHubNode'),
  c('devSourcePlugin'),
  c('devFQDN'),
  c('devMacSource'),
  c('devNameSource'),
  c('devFQDNSource'),
  c('devLastIPSource'),
  c('devVendorSource'),
  c('devSSIDSource'),
  c('devParentMACSource'),
  c('devParentPortSource'),
  c('devParentRelTypeSource'),
  c('devVlanSource'),
  c('devCustomProps'),
];

/**
 * `hub-defaults`: the fields a hub's user edits and a node's copy must not overwrite on a known
 * device (NetAlertX 26.6+ SYNC_BEHAVIOR; the list is fieldhub's reading of "hub-owned").
 */
export const HUB_OWNED: ReadonlySet<string> = new Set([
  'devName',
  'devOwner',
  'devType',
  'devFavorite',
  'devGroup',
  'devComments',
  'devLocation',
  'devIcon',
  'devSite',
  'devParentMAC',
  'devParentPort',
  'devParentRelType',
  'devScan',
  'devLogEvents',
  'devAlertEvents',
  'devAlertDown',
  'devSkipRepeated',
  'devIsArchived',
  'devForceStatus',
  'devCustomProps',
]);

/** 0/1 for a boolean column; undefined when the value says neither (the column default is used then). */
export function bit(v: unknown): 0 | 1 | undefined {
  if (v === 1 || v === true) return 1;
  if (v === 0 || v === false) return 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === '1' || s === 'true' || s === 'yes' || s === 'on') return 1;
    if (s === '0' || s === 'false' || s === 'no' || s === 'off' || s === '') return 0;
  }
  return undefined;
}
