/** The optional query parameters devices add to /push and /result: their own uuid, the executed endpoint. */

/** A device uuid: 1-128 visible ASCII characters (Control iD devices send a hex uuid). */
const UUID = /^[\x21-\x7e]{1,128}$/;
const ENDPOINT = /^\/?[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const UUID_HINT = 'uuid must be 1-128 visible ASCII characters';
export const ENDPOINT_HINT =
  'endpoint must be a command name (letters, digits, _ . -, at most 128), optionally with .fcgi';

/** undefined: absent or empty (a device without one); null: present but invalid. */
export function parseUuid(v: unknown): string | undefined | null {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' && UUID.test(v) ? v : null;
}

/** undefined: absent or empty; null: invalid; else the name as sent. */
export function parseEndpoint(v: unknown): string | undefined | null {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' && ENDPOINT.test(v) ? v : null;
}

/** An endpoint name compared without a leading "/" and a ".fcgi" suffix (devices report either form). */
export function sameEndpoint(a: string, b: string): boolean {
  const norm = (e: string) => e.replace(/^\//, '').replace(/\.fcgi$/i, '');
  return norm(a) === norm(b);
}
