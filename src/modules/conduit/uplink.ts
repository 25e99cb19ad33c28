/**
 * AlphaX uplinks: Uplink Data Format V2 (`data` an array of {channelId, value}) and V1 (`data` a
 * hex byte string), in the envelope `{token?, networkId, timestamp (13-digit UTC ms), data}`.
 * V1 is little-endian (the published example `0A10010001000000A00F0000` is 4106, 1, 1, 0 and
 * channel 1 = 4000): bytes 1-2 voltage (mV, unsigned) -> channel 255, 3-4 RSSI (signed) -> 254,
 * 5-6 message id (unsigned) -> 253, 7-8 error code (unsigned) -> 252, then one signed 32-bit
 * integer per channel 1..32, stored divided by 1000.
 * The Conduit V4 webhook (`POST /conduitv4/post`) carries the same in its query: one value
 * (`netid`, `chid`, `value`, timestamped on receipt) or V1 hex (`id`, `data`, optional `date` in ms).
 */
import { z } from 'zod';
import { invalid } from './errors.js';
import { NETID_RE, zodMessage } from './schemas.js';
import { atMost16Digits, checkUplink, type CheckedUplink } from './validate.js';

export const MAX_V1_CHANNELS = 32;
const MAX_CHID = 2 ** 31 - 1;

export interface ChannelValue {
  channelId: number;
  value: number;
}

/** What an uplink (V1, V2 or V4) writes: values of one device's channels at one second. */
export interface Series {
  /** upper case */
  netid: string;
  /** unix seconds */
  date: number;
  chids: number[];
  values: number[];
}

function series(netid: string, date: number, values: readonly ChannelValue[]): Series {
  const chids = new Array<number>(values.length);
  const vals = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    chids[i] = values[i]!.channelId;
    vals[i] = values[i]!.value;
  }
  return { netid: netid.toUpperCase(), date, chids, values: vals };
}

/** Decodes a V1 hex byte string; throws Refused('invalid') on malformed hex, a bad length or more than 32 channels. */
export function decodeV1(hex: string): ChannelValue[] {
  if (!/^(?:[0-9A-Fa-f]{2})*$/.test(hex)) throw invalid('data: not a hex byte string');
  const buf = Buffer.from(hex, 'hex');
  if (buf.length < 8 || (buf.length - 8) % 4 !== 0) throw invalid(`data: ${buf.length} bytes; V1 is 8 + 4n bytes`);
  const n = (buf.length - 8) / 4;
  if (n > MAX_V1_CHANNELS) throw invalid(`data: ${n} channels; at most ${MAX_V1_CHANNELS}`);
  const out: ChannelValue[] = [
    { channelId: 255, value: buf.readUInt16LE(0) },
    { channelId: 254, value: buf.readInt16LE(2) },
    { channelId: 253, value: buf.readUInt16LE(4) },
    { channelId: 252, value: buf.readUInt16LE(6) },
  ];
  for (let i = 0; i < n; i++) out.push({ channelId: i + 1, value: buf.readInt32LE(8 + 4 * i) / 1000 });
  return out;
}

const value = z
  .number()
  .refine(Number.isFinite, 'expected a finite number')
  .refine(atMost16Digits, 'at most 16 significant digits');
const netid = z.string().regex(NETID_RE, 'expected a network id (hex)');
/** 13-digit UTC milliseconds */
const timestamp = z
  .number()
  .int()
  .min(1e12, 'expected 13-digit UTC milliseconds')
  .max(9_999_999_999_999, 'expected 13-digit UTC milliseconds');

export const uplinkSchema = z
  .object({
    token: z.string().max(256).optional(),
    networkId: netid,
    timestamp: timestamp.optional(),
    /** V1: a hex string; V2: an array (told apart by type, checked below for a precise message) */
    data: z.unknown(),
  })
  .strict();
export const v2Data = z
  .array(z.object({ channelId: z.number().int().min(0).max(MAX_CHID), value }).strict())
  .min(1)
  .max(10_000);
/** bounded well above 32 channels so that the decoder names the real fault */
export const v1Data = z.string().max(4096);

/** ms -> the stored second: rounded down (the second the millisecond falls in) */
export const msToSecond = (ms: number) => Math.floor(ms / 1000);

/** The schemas' verdict on an uplink the hand pass (validate.ts) refused: their message, or their output. */
function schemaUplink(body: unknown): CheckedUplink {
  const p = uplinkSchema.safeParse(body);
  if (!p.success) throw invalid(zodMessage(p.error, 'body'));
  const u = p.data;
  const head = { networkId: u.networkId, ...(u.timestamp === undefined ? {} : { timestamp: u.timestamp }) };
  if (typeof u.data === 'string') {
    const d = v1Data.safeParse(u.data);
    if (!d.success) throw invalid(zodMessage(d.error, 'body.data'));
    return { ...head, data: d.data };
  }
  const d = v2Data.safeParse(u.data);
  if (!d.success) throw invalid(zodMessage(d.error, 'body.data'));
  return { ...head, data: d.data };
}

/** An uplink body as a series; two values for the same channel: the last one wins (as in the store). */
export function uplinkSeries(body: unknown, nowMs: number): Series {
  const o = body as Record<string, unknown>;
  if (o.networkId === undefined && o.data === undefined) {
    throw invalid(
      'body: expected array of datapoints (the bulk format) or an uplink object {networkId, timestamp, data}',
    );
  }
  const u = checkUplink(body) ?? schemaUplink(body);
  const values = typeof u.data === 'string' ? decodeV1(u.data) : u.data;
  return series(u.networkId, msToSecond(u.timestamp ?? nowMs), values);
}

/** significant digits of a decimal written as text (the V4 query), leading and trailing zeros aside */
function textDigits(t: string): number {
  const mantissa = t.replace(/^[+-]/, '').replace(/[eE].*$/, '');
  const [int = '', frac = ''] = mantissa.split('.');
  return (int + frac).replace(/^0+/, '').replace(/0+$/, '').length || 1;
}

const chidText = z
  .string()
  .regex(/^\d{1,10}$/, 'expected a channel id (0..2147483647)')
  .transform(Number)
  .pipe(z.number().max(MAX_CHID, 'expected a channel id (0..2147483647)'));
/** a decimal number as text: no NaN, Infinity, hex or 17-digit values */
const valueText = z
  .string()
  .regex(/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?$/, 'expected a decimal number')
  .refine((t) => textDigits(t) <= 16, 'at most 16 significant digits')
  .transform(Number)
  .pipe(z.number({ error: 'expected a finite number' })); // zod refuses Infinity (1e400)
const dateText = z
  .string()
  .regex(/^\d{13}$/, 'expected 13-digit UTC milliseconds')
  .transform(Number);

/** the V4 query as the route declares it (for OpenAPI); the forms are checked by webhookSeries */
export const webhookQuerySchema = z
  .object({
    token: z.string().max(256).optional().describe('the conduit token (or the X-Api-Key / Token header)'),
    netid: z.string().optional().describe('one value: the device (network id)'),
    chid: z.string().optional().describe('one value: the channel'),
    value: z.string().optional().describe('one value: the value (stored with the second of receipt)'),
    id: z.string().optional().describe('V1: the device (network id)'),
    data: z.string().optional().describe('V1: the hex byte string'),
    date: z.string().optional().describe('V1: 13-digit UTC milliseconds (default: receipt)'),
  })
  .strict();
export type WebhookQuery = z.output<typeof webhookQuerySchema>;

const valueForm = z.object({ token: z.string().optional(), netid, chid: chidText, value: valueText }).strict();
const dataForm = z
  .object({ token: z.string().optional(), id: netid, data: v1Data, date: dateText.optional() })
  .strict();

/** A V4 webhook query as a series: one value now, or a V1 payload at `date` (default now). */
export function webhookSeries(q: WebhookQuery, nowMs: number): Series {
  if (q.netid !== undefined || q.chid !== undefined || q.value !== undefined) {
    const p = valueForm.safeParse(q);
    if (!p.success) throw invalid(zodMessage(p.error, 'query'));
    const { netid: id, chid, value: v } = p.data;
    return series(id, msToSecond(nowMs), [{ channelId: chid, value: v }]);
  }
  if (q.id === undefined && q.data === undefined)
    throw invalid('query: expected token, netid, chid and value (one value) or token, id and data (V1 hex)');
  const p = dataForm.safeParse(q);
  if (!p.success) throw invalid(zodMessage(p.error, 'query'));
  return series(p.data.id, msToSecond(p.data.date ?? nowMs), decodeV1(p.data.data));
}
