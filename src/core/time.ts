/** Local-time formatting (the peers' logs and file names are in the server's local time). */

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * Formats `d` in local time; the tokens YYYY MM DD HH mm ss SSS are replaced, everything else is kept:
 * `formatLocal(d, 'YYYY-MM-DD HH:mm:ss,SSS')` -> `2025-01-01 12:59:00,123`.
 */
export function formatLocal(d: Date, pattern: string): string {
  const parts: Record<string, string> = {
    YYYY: String(d.getFullYear()),
    MM: pad(d.getMonth() + 1),
    DD: pad(d.getDate()),
    HH: pad(d.getHours()),
    mm: pad(d.getMinutes()),
    ss: pad(d.getSeconds()),
    SSS: pad(d.getMilliseconds(), 3),
  };
  return pattern.replace(/YYYY|MM|DD|HH|mm|ss|SSS/g, (t) => parts[t]!);
}
