/**
 * The Conduit v6 wire format: datapoint fields, the request arguments (id, ch, fcdt, tcdt) and
 * the bodies of POST (ingest) and PUT (metadata). Field names are the spec's.
 */
import { z } from 'zod';
import { HttpError } from '../../core/errors.js';

/** A network id: hex, case-insensitive on input, stored upper case. */
export const NETID_RE = /^[0-9A-Fa-f]{1,64}$/;
export const MAX_LIST = 1000;
const MAX_CHID = 2 ** 31 - 1;
/** val_date above this is not unix seconds (it is year 5138); milliseconds are the usual mistake */
const MAX_DATE = 1e11;

const text = z.string().max(256).nullable().optional();

/** device metadata: wire field -> column of conduit_devices */
export const DEVICE_FIELDS = {
  dev_tag: 'tag',
  dev_type: 'type',
  dev_label: 'label',
  dev_category: 'category',
  dev_powersource: 'powersource',
  dev_manufacturer: 'manufacturer',
  dev_supplier: 'supplier',
  dev_model: 'model',
  dev_serial: 'serial',
  dev_network: 'network',
  loc_lat: 'lat',
  loc_lng: 'lng',
  dev_error: 'error',
} as const;
/** channel metadata: wire field -> column of conduit_channels */
export const CHANNEL_FIELDS = {
  val_type: 'type',
  val_description: 'description',
  val_cal: 'cal',
  val_offset: 'offset',
} as const;
export type DeviceField = keyof typeof DEVICE_FIELDS;
export type ChannelField = keyof typeof CHANNEL_FIELDS;

const deviceShape = {
  dev_tag: text,
  dev_type: text,
  dev_label: text,
  dev_category: text,
  dev_powersource: text,
  dev_manufacturer: text,
  dev_supplier: text,
  dev_model: text,
  dev_serial: text,
  dev_network: text,
  loc_lat: z.number().min(-90).max(90).nullable().optional(),
  loc_lng: z.number().min(-180).max(180).nullable().optional(),
  dev_error: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(MAX_CHID)
    .optional(),
  /** the site (by name) the device belongs to; must be one of the user's sites */
  dev_site: z.string().trim().min(1).max(100).optional(),
};
const channelShape = {
  val_type: text,
  val_description: text,
  val_cal: z.number().optional(),
  val_offset: z.number().optional(),
};

export const datapointSchema = z
  .object({
    dev_netid: z.string().regex(NETID_RE, 'expected a network id (hex)'),
    dev_chid: z.number().int().min(0).max(MAX_CHID),
    val_date: z.number().int().min(0).max(MAX_DATE, 'expected unix seconds'),
    val_raw: z.number(),
    ...deviceShape,
    ...channelShape,
    /** computed by the server; accepted (so a GET answer can be posted back) and ignored */
    val_calibrated: z.number().nullable().optional(),
  })
  .strict();
export type Datapoint = z.output<typeof datapointSchema>;

export const ingestSchema = z.array(datapointSchema);

export const metadataSchema = z
  .object({ ...deviceShape, ...channelShape })
  .strict()
  .refine((o) => Object.keys(o).length > 0, { message: 'no field to update' });
export type MetadataUpdate = z.output<typeof metadataSchema>;

/** The query string as the route sees it (repeated arguments arrive as arrays). */
const arg = z.union([z.string(), z.array(z.string())]).optional();
export const querySchema = z.object({
  id: arg.describe('network id(s): repeat the argument or separate with commas'),
  ch: arg.describe('channel id(s): repeat the argument or separate with commas'),
  fcdt: arg.describe('from, unix seconds (with tcdt; default: the last hour)'),
  tcdt: arg.describe('to, unix seconds (with fcdt)'),
  token: z.string().optional().describe('the conduit token (prefer the X-Api-Key header)'),
});
export type Query = z.output<typeof querySchema>;

function items(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const bad = (msg: string) => new HttpError(400, msg);

/** `id` arguments: network ids, upper case, unique; undefined when not given. */
export function parseIds(v: string | string[] | undefined): string[] | undefined {
  const list = items(v);
  if (list.length === 0) return undefined;
  for (const id of list) if (!NETID_RE.test(id)) throw bad(`id: "${id.slice(0, 70)}" is not a network id (hex)`);
  const out = [...new Set(list.map((s) => s.toUpperCase()))];
  if (out.length > MAX_LIST) throw bad(`id: at most ${MAX_LIST} network ids per request`);
  return out;
}

/** `ch` arguments: channel numbers, unique; undefined when not given. */
export function parseChs(v: string | string[] | undefined): number[] | undefined {
  const list = items(v);
  if (list.length === 0) return undefined;
  const out = new Set<number>();
  for (const s of list) {
    if (!/^\d{1,10}$/.test(s) || Number(s) > MAX_CHID) throw bad(`ch: "${s.slice(0, 70)}" is not a channel id`);
    out.add(Number(s));
  }
  if (out.size > MAX_LIST) throw bad(`ch: at most ${MAX_LIST} channel ids per request`);
  return [...out];
}

function one(name: string, v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) {
    if (v.length > 1) throw bad(`${name}: given more than once`);
    return v[0];
  }
  return v;
}

/** unix seconds, or 13-digit milliseconds (rounded down to the second) */
function seconds(name: string, s: string): number {
  const t = s.trim();
  if (/^\d{13}$/.test(t)) return Math.floor(Number(t) / 1000);
  if (!/^\d{1,11}$/.test(t))
    throw bad(`${name}: expected unix seconds (or 13-digit milliseconds), got "${s.slice(0, 40)}"`);
  return Number(t);
}

/**
 * `fcdt`/`tcdt`: both or neither. Neither: the last hour (`required` false) or 400 (`required` true).
 * Both ends are inclusive.
 */
export function parseRange(q: Query, nowSeconds: number, required = false): { from: number; to: number } {
  const f = one('fcdt', q.fcdt);
  const t = one('tcdt', q.tcdt);
  if (f === undefined && t === undefined) {
    if (required) throw bad('fcdt and tcdt are required');
    return { from: nowSeconds - 3600, to: nowSeconds };
  }
  if (f === undefined || t === undefined) throw bad('fcdt and tcdt must be given together');
  const from = seconds('fcdt', f);
  const to = seconds('tcdt', t);
  if (from > to) throw bad('fcdt is after tcdt');
  return { from, to };
}

/** A zod error as one line: `[2].val_raw: Invalid input: expected number, received string`. */
export function zodMessage(err: z.ZodError, what: string): string {
  const i = err.issues[0];
  if (!i) return `${what}: invalid`;
  const loc = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  const keys = i.code === 'unrecognized_keys' ? `: ${i.keys.join(', ')}` : '';
  return `${what}${loc}: ${i.message}${keys}${more}`;
}

/** fields of a datapoint that are not metadata: a point with only these skips the metadata work */
const POINT_KEYS = new Set(['dev_netid', 'dev_chid', 'val_date', 'val_raw', 'dev_site', 'val_calibrated']);
export function hasMetadata(p: object): boolean {
  for (const k in p) if (!POINT_KEYS.has(k)) return true;
  return false;
}

/** the metadata fields of `fields` that `src` carries, or undefined when it carries none */
export function pick<F extends string>(
  fields: Record<F, string>,
  src: object,
): Partial<Record<F, unknown>> | undefined {
  let out: Partial<Record<F, unknown>> | undefined;
  for (const f of Object.keys(fields) as F[]) {
    const v = (src as Record<string, unknown>)[f];
    if (v !== undefined) {
      out ??= {};
      out[f] = v;
    }
  }
  return out;
}
