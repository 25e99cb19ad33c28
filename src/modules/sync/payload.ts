/**
 * Payloads as NetAlertX nodes send them: decoding (encrypted, base64 or plain) and parsing
 * (the devices JSON of the SYNC plugin, the JSON or pipe-delimited last_result of other plugins).
 */
import { decryptData } from './crypto.js';

/** The plugin name NetAlertX uses for the devices table payload. */
export const DEVICES_PLUGIN = 'SYNC';

export class PayloadError extends Error {
  override name = 'PayloadError';
}

/** A device as received: `mac` normalised, `fields` every key the node sent (minus rowid/devStatus). */
export interface DeviceIn {
  mac: string;
  fields: Record<string, unknown>;
}

export type Parsed = { kind: 'devices'; devices: DeviceIn[]; skipped: number } | { kind: 'rows'; rows: unknown[] };

/** NetAlertX's last_result line: 9 required columns, then up to 4 helper values. */
export const PLUGIN_COLUMNS = [
  'primaryId',
  'secondaryId',
  'dateTime',
  'watched1',
  'watched2',
  'watched3',
  'watched4',
  'extra',
  'foreignKey',
  'helpVal1',
  'helpVal2',
  'helpVal3',
  'helpVal4',
] as const;

/** Keys the original hub drops before inserting (`rowid` is the node's, `devStatus` is computed). */
const DROPPED = new Set(['rowid', 'devStatus']);

export function normaliseMac(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = v.trim().toLowerCase();
  return m.length > 0 && m.length <= 64 ? m : undefined;
}

function jsonRows(text: string): unknown[] | undefined {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(t);
  } catch (e) {
    throw new PayloadError(`invalid JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(doc)) return doc as unknown[];
  if (doc && typeof doc === 'object' && Array.isArray((doc as { data?: unknown }).data))
    return (doc as { data: unknown[] }).data;
  throw new PayloadError('JSON payload has no "data" array');
}

/** The devices payload `{"data": [ {devMac, ...}, ... ]}`: first occurrence of a MAC wins, as in the original. */
export function parseDevices(text: string): Parsed {
  const rows = jsonRows(text);
  if (!rows) throw new PayloadError('devices payload is not JSON');
  const seen = new Set<string>();
  const devices: DeviceIn[] = [];
  let skipped = 0;
  for (const r of rows) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) {
      skipped++;
      continue;
    }
    const mac = normaliseMac((r as { devMac?: unknown }).devMac);
    if (!mac || seen.has(mac)) {
      skipped++;
      continue;
    }
    seen.add(mac);
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (!DROPPED.has(k)) fields[k] = v;
    fields.devMac = mac;
    devices.push({ mac, fields });
  }
  return { kind: 'devices', devices, skipped };
}

/** Another plugin's rows: JSON (`{"data": [...]}` or an array), or NetAlertX's pipe-delimited last_result lines. */
export function parsePluginRows(text: string): Parsed {
  let jsonError: PayloadError | undefined;
  try {
    const json = jsonRows(text);
    if (json) return { kind: 'rows', rows: json };
  } catch (e) {
    jsonError = e as PayloadError; // a last_result line may start with "{" or "[" too
  }
  try {
    return pipeRows(text);
  } catch (e) {
    throw jsonError
      ? new PayloadError(`${jsonError.message}; not last_result lines either: ${(e as Error).message}`)
      : e;
  }
}

function pipeRows(text: string): Parsed {
  if (text.includes('\0')) throw new PayloadError('payload contains NUL bytes');
  const rows: Array<Record<string, string>> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split('|');
    if (cells.length < 9 || cells.length > PLUGIN_COLUMNS.length) {
      throw new PayloadError(`line ${i + 1}: expected 9 to 13 "|"-separated columns, got ${cells.length}`);
    }
    const row: Record<string, string> = {};
    cells.forEach((c, j) => (row[PLUGIN_COLUMNS[j]!] = c));
    rows.push(row);
  }
  return { kind: 'rows', rows };
}

export function parserFor(plugin: string): (text: string) => Parsed {
  return plugin === DEVICES_PLUGIN ? parseDevices : parsePluginRows;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeBase64Text(raw: string): string {
  const s = raw.replace(/[\r\n\t]/g, '').replace(/ /g, '+');
  if (s.length === 0 || s.length % 4 === 1 || !B64.test(s)) throw new PayloadError('not base64');
  try {
    return utf8.decode(Buffer.from(s, 'base64'));
  } catch {
    throw new PayloadError('base64 content is not UTF-8 text');
  }
}

export type Encoding = 'encrypted' | 'base64' | 'plain' | 'encrypted-empty-key';

export interface Decoded {
  text: string;
  parsed: Parsed;
  encoding: Encoding;
}

/**
 * Decodes and parses a stored payload.
 * - `pull` (a node's GET /sync `data_base64`): base64 (as NetAlertX nodes serve it), else, with a
 *   passphrase, base64 of encrypted data (a fieldhub node with sync.serveEncrypted).
 * - `post` with a passphrase: it must decrypt (as the original hub, which always decrypts then).
 * - `post` without one: plain text, else base64, else encrypted with the empty passphrase
 *   (what NetAlertX's encrypt_data produces when a node has no SYNC_encryption_key).
 */
export function decodePayload(
  raw: string,
  opts: { plugin: string; passphrase: string; source: 'post' | 'pull' },
): Decoded {
  const parse = parserFor(opts.plugin);
  const attempts: Array<[Encoding, () => string]> =
    opts.source === 'pull'
      ? [
          ['base64', () => decodeBase64Text(raw)],
          // a fieldhub node with sync.serveEncrypted: base64 of encrypt_data's text
          ...(opts.passphrase
            ? ([['encrypted', () => decryptData(decodeBase64Text(raw), opts.passphrase)]] as Array<
                [Encoding, () => string]
              >)
            : []),
        ]
      : opts.passphrase
        ? [['encrypted', () => decryptData(raw, opts.passphrase)]]
        : [
            ['plain', () => raw],
            ['base64', () => decodeBase64Text(raw)],
            ['encrypted-empty-key', () => decryptData(raw, '')],
          ];
  const errors: string[] = [];
  for (const [encoding, decode] of attempts) {
    try {
      const text = decode();
      return { text, parsed: parse(text), encoding };
    } catch (e) {
      errors.push(attempts.length > 1 ? `${encoding}: ${(e as Error).message}` : (e as Error).message);
    }
  }
  throw new PayloadError(errors.join('; '));
}
