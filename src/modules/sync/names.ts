/**
 * Names as NetAlertX allows them, and the file name component each one maps to.
 * - plugin: 1..64 of [A-Za-z0-9_-] (NetAlertX plugin codes: SYNC, ARPSCAN, ...).
 * - node_name: any printable name up to 64 characters, the empty one included (NetAlertX's default
 *   SYNC_node_name). In file names it is percent-encoded: [A-Za-z0-9_.-] stay as they are, every
 *   other character becomes %XX of its UTF-8 bytes; so the empty name gives
 *   `last_result.SYNC.encoded..1.log` as a 26.1 hub writes it, `a.b` stays `a.b`, `../x` is
 *   `..%2Fx`: never a path separator, never a name of its own (`.`/`..`), always one component.
 *   A component longer than 120 bytes (many non-ASCII characters) is cut and ends in `~` and 12
 *   hex digits of its SHA-256, so the whole file name stays far under 255 bytes.
 */
import { createHash } from 'node:crypto';

export const PLUGIN_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** printable: no control characters (C0, DEL, C1); length in characters (code points) */
const PRINTABLE = /^[^\p{Cc}]*$/u;

export function nodeNameProblem(v: string): string | undefined {
  if ([...v].length > 64) return 'must be at most 64 characters';
  if (!PRINTABLE.test(v) || /\p{Cs}/u.test(v)) return 'must not contain control characters or lone surrogates';
  return undefined;
}

const MAX_COMPONENT = 120;

export function fileComponent(node: string): string {
  const enc = encodeURIComponent(node).replace(/[!'()*~]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  if (enc.length <= MAX_COMPONENT) return enc;
  const hash = createHash('sha256').update(node, 'utf8').digest('hex').slice(0, 12);
  return `${enc.slice(0, MAX_COMPONENT - 13).replace(/%[0-9A-F]?$/, '')}~${hash}`;
}

/** The files of one payload; `node` is mapped to a safe file name component (names.ts). */
export const fileNames = (plugin: string, node: string, seq: number) => {
  const n = fileComponent(node);
  return {
    encoded: `last_result.${plugin}.encoded.${n}.${seq}.log`,
    decoded: `last_result.${plugin}.decoded.${n}.${seq}.log`,
    processed: `processed_last_result.${plugin}.${n}.${seq}.log`,
    failed: `failed_last_result.${plugin}.encoded.${n}.${seq}.log`,
  };
};

export type PayloadFiles = ReturnType<typeof fileNames>;
