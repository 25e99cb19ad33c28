/**
 * The hot-path validation: one hand-written pass over a bulk datapoint array and over an uplink,
 * instead of zod's per-item parsing. The zod schemas (schemas.ts, uplink.ts) stay the contract
 * (OpenAPI, error messages): each pass here answers the schema's output when the schema accepts
 * the input and undefined when it refuses it, and the caller then asks the schema for its message
 * (test/modules/conduit/validate.test.ts checks both against the schemas with fast-check).
 */
import { NETID_RE, type Datapoint } from './schemas.js';
import type { ChannelValue } from './uplink.js';

const MAX_CHID = 2 ** 31 - 1;
const MIN_ERROR = -(2 ** 31);
/** schemas.ts MAX_DATE */
const MAX_DATE = 1e11;
const MAX_V2 = 10_000;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown, min: number, max: number) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const isText = (v: unknown) => v === null || (typeof v === 'string' && v.length <= 256);
const inRange = (v: unknown, limit: number) => v === null || (isNumber(v) && v >= -limit && v <= limit);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** one datapoint (schemas.ts datapointSchema); a dev_site with spaces around is trimmed in place */
function checkPoint(p: unknown): boolean {
  if (!isObject(p)) return false;
  if (typeof p.dev_netid !== 'string' || !NETID_RE.test(p.dev_netid)) return false;
  if (!isInt(p.dev_chid, 0, MAX_CHID) || !isInt(p.val_date, 0, MAX_DATE) || !isNumber(p.val_raw)) return false;
  for (const k in p) {
    const v = p[k];
    switch (k) {
      case 'dev_netid':
      case 'dev_chid':
      case 'val_date':
      case 'val_raw':
        break;
      case 'dev_tag':
      case 'dev_type':
      case 'dev_label':
      case 'dev_category':
      case 'dev_powersource':
      case 'dev_manufacturer':
      case 'dev_supplier':
      case 'dev_model':
      case 'dev_serial':
      case 'dev_network':
      case 'val_type':
      case 'val_description':
        if (!isText(v)) return false;
        break;
      case 'loc_lat':
        if (!inRange(v, 90)) return false;
        break;
      case 'loc_lng':
        if (!inRange(v, 180)) return false;
        break;
      case 'dev_error':
        if (!isInt(v, MIN_ERROR, MAX_CHID)) return false;
        break;
      case 'dev_site': {
        if (typeof v !== 'string') return false;
        const t = v.trim();
        if (t.length < 1 || t.length > 100) return false;
        if (t !== v) p.dev_site = t;
        break;
      }
      case 'val_cal':
      case 'val_offset':
        if (!isNumber(v)) return false;
        break;
      case 'val_calibrated':
        if (v !== null && !isNumber(v)) return false;
        break;
      default:
        return false; // not a field of the schema (it is strict)
    }
  }
  return true;
}

/**
 * A bulk body (JSON.parse output) as the datapoints of schemas.ts ingestSchema, or undefined when
 * that schema refuses it. The array and its objects are the input's own (dev_site trimmed in place).
 */
export function checkDatapoints(body: unknown): Datapoint[] | undefined {
  if (!Array.isArray(body)) return undefined;
  for (let i = 0; i < body.length; i++) if (!checkPoint(body[i])) return undefined;
  return body as Datapoint[];
}

/**
 * At most 16 significant digits in the number as JSON writes it (AlphaX values; 17-digit values
 * cannot be stored exactly). Written in at most 16 characters without an exponent: at most 16 digits.
 */
export function atMost16Digits(v: number): boolean {
  if (!Number.isFinite(v)) return false;
  const s = String(v);
  if (s.length <= 16 && !s.includes('e')) return true;
  const m = /^-?(\d+)(?:\.(\d+))?(?:e[+-]?\d+)?$/i.exec(s);
  if (!m) return false;
  return ((m[1]! + (m[2] ?? '')).replace(/^0+/, '').replace(/0+$/, '').length || 1) <= 16;
}

/** an uplink value: finite, at most 16 significant digits */
export const isUplinkValue = (v: unknown): v is number => isNumber(v) && atMost16Digits(v);

export interface CheckedUplink {
  networkId: string;
  timestamp?: number;
  /** V1: the hex string (at most 4096 characters, decoded by the caller); V2: the values */
  data: string | ChannelValue[];
}

/**
 * An uplink body as uplink.ts's uplinkSchema with its V2 (v2Data) or V1 (v1Data) data accepts it,
 * or undefined when one of them refuses it.
 */
export function checkUplink(body: unknown): CheckedUplink | undefined {
  if (!isObject(body)) return undefined;
  for (const k in body) {
    const v = body[k];
    switch (k) {
      case 'token':
        if (typeof v !== 'string' || v.length > 256) return undefined;
        break;
      case 'networkId':
        if (typeof v !== 'string' || !NETID_RE.test(v)) return undefined;
        break;
      case 'timestamp':
        if (!isInt(v, 1e12, 9_999_999_999_999)) return undefined;
        break;
      case 'data':
        break;
      default:
        return undefined;
    }
  }
  if (typeof body.networkId !== 'string') return undefined;
  const data = body.data;
  const timestamp = body.timestamp as number | undefined; // checked above
  const head = { networkId: body.networkId, ...(timestamp === undefined ? {} : { timestamp }) };
  if (typeof data === 'string') return data.length <= 4096 ? { ...head, data } : undefined;
  if (!Array.isArray(data) || data.length < 1 || data.length > MAX_V2) return undefined;
  for (const c of data as unknown[]) {
    if (!isObject(c) || !isInt(c.channelId, 0, MAX_CHID) || !isUplinkValue(c.value)) return undefined;
    for (const k in c) if (k !== 'channelId' && k !== 'value') return undefined;
  }
  return { ...head, data: data as ChannelValue[] };
}
