/**
 * Control iD device ids are int64. They are kept as canonical decimal strings end to end
 * (query, SQLite TEXT, JSON), so ids above 2^53 round-trip exactly; never converted to a JS number.
 */
const INT64_TEXT = /^-?\d{1,19}$/;
const MAX = 9223372036854775807n;
const MIN = -9223372036854775808n;

/** The canonical string of an int64 device id, or undefined when `v` is not one. */
export function parseDeviceId(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const n = v.length;
  // fast path: 1..18 digits without sign or leading zero cannot overflow and is already canonical
  if (n > 0 && n < 19) {
    const c0 = v.charCodeAt(0);
    if (c0 >= 49 && c0 <= 57) {
      let i = 1;
      for (; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c < 48 || c > 57) break;
      }
      if (i === n) return v;
    }
  }
  if (!INT64_TEXT.test(v)) return undefined;
  const b = BigInt(v);
  if (b > MAX || b < MIN) return undefined;
  return b.toString();
}

/** A device id from JSON: a decimal string, or a number only when it is a safe integer. */
export function deviceIdFromJson(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : undefined;
  return parseDeviceId(v);
}

export const DEVICE_ID_HINT =
  'deviceId must be an int64 integer in decimal (ids above 2^53 must be sent as strings in JSON)';
