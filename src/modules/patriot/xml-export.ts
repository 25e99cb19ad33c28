/**
 * The per-client XML between its two homes: the files `<xmlDir>/<key>/<id>.xml` (SQLite mode) and the
 * rows of `patriot_client_xml` (PostgreSQL mode).
 *
 * - `fieldhub patriot export-xml DIR`: writes the files as the SQLite mode has them, from either
 *   driver (each temp + fsync + rename, then each folder fsynced); DIR must not be the live XML dir.
 * - `fieldhub store migrate-to-postgres` (copyFilesToPg / verifyFilesPg): the files under the data
 *   dir into the table, re-runnable (upsert by key and client), with a count and a checksum that
 *   does not depend on order (sorted `key/id` + SHA-256 of each text).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirAsync, safeJoin, writeFileDurable } from '../../core/files.js';
import type { PgStore } from '../../core/pg.js';

export interface XmlEntry {
  keyName: string;
  clientId: number;
  xml: string;
  /** oldest first (the import's order): the file's mtime; on PostgreSQL its queue position */
  order: number;
}

const KEY_RE = /^[^./\\\0][^/\\\0]*$/;
const FILE_RE = /^([0-9]{1,10})\.xml$/;

/** The per-client files under `xmlDir` (`<key>/<digits>.xml`; temp files, claimed copies and dot folders left out). */
export async function xmlFromDir(xmlDir: string): Promise<XmlEntry[]> {
  const out: XmlEntry[] = [];
  const keys = await readdir(xmlDir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  for (const k of keys) {
    if (!k.isDirectory() || !KEY_RE.test(k.name)) continue;
    for (const n of await readdir(safeJoin(xmlDir, k.name))) {
      const m = FILE_RE.exec(n);
      if (!m || Number(m[1]) > 2_147_483_647) continue;
      const file = safeJoin(xmlDir, k.name, n);
      const s = await stat(file).catch(() => null);
      if (!s?.isFile()) continue;
      out.push({ keyName: k.name, clientId: Number(m[1]), xml: await readFile(file, 'utf8'), order: s.mtimeMs });
    }
  }
  return out.sort((a, b) => a.order - b.order);
}

/** The rows of `patriot_client_xml`, oldest first. */
export async function xmlFromPg(pg: PgStore): Promise<XmlEntry[]> {
  const r = await pg.query<{ key_name: string; client_id: number; xml: string; queued: string }>(
    'SELECT key_name, client_id, xml, queued::text AS queued FROM patriot_client_xml ORDER BY queued',
  );
  return r.rows.map((x) => ({ keyName: x.key_name, clientId: x.client_id, xml: x.xml, order: Number(x.queued) }));
}

/** How many and an order-independent checksum. */
export function checksum(entries: readonly XmlEntry[]): { files: number; checksum: string } {
  const lines = entries
    .map((e) => `${e.keyName}/${e.clientId}\t${createHash('sha256').update(e.xml).digest('hex')}\n`)
    .sort();
  const h = createHash('sha256');
  for (const l of lines) h.update(l);
  return { files: entries.length, checksum: h.digest('hex') };
}

/** The default XML dir of a data dir (config.ts): what migrate-to-postgres copies. */
export const xmlDirOf = (dataDir: string) => path.resolve(dataDir, 'out', 'clients');

/** migrate-to-postgres: the files into the table (oldest first, so the import's order is kept), upserted. */
export async function copyXmlFilesToPg(xmlDir: string, pg: PgStore): Promise<{ files: number; checksum: string }> {
  const entries = await xmlFromDir(xmlDir);
  for (let i = 0; i < entries.length; i += 500) {
    const slice = entries.slice(i, i + 500);
    await pg.query(
      `INSERT INTO patriot_client_xml (key_name, client_id, xml, xml_version, updated_at)
         SELECT t.k, t.i, t.x, (SELECT s.xml_version FROM patriot_client_state s WHERE s.key_name = t.k AND s.client_id = t.i),
                $4 FROM unnest($1::text[], $2::int[], $3::text[]) WITH ORDINALITY AS t(k, i, x, n) ORDER BY t.n
       ON CONFLICT (key_name, client_id) DO UPDATE SET xml = excluded.xml, xml_version = excluded.xml_version,
         updated_at = excluded.updated_at`,
      [slice.map((e) => e.keyName), slice.map((e) => e.clientId), slice.map((e) => e.xml), new Date().toISOString()],
    );
  }
  return checksum(entries);
}

export async function verifyXmlFilesPg(pg: PgStore): Promise<{ files: number; checksum: string }> {
  return checksum(await xmlFromPg(pg));
}

export class ExportDirError extends Error {
  override name = 'ExportDirError';
}

/**
 * Checks DIR for export-xml: a path (made absolute) that is not the live XML dir nor inside or
 * around it, and a directory if it exists (created otherwise).
 */
export async function exportDir(dir: string | undefined, xmlDir: string): Promise<string> {
  if (!dir || dir.includes('\0') || dir.startsWith('-')) throw new ExportDirError('export-xml: DIR is required');
  const abs = path.resolve(dir);
  const live = path.resolve(xmlDir);
  const inside = (a: string, b: string) => a === b || a.startsWith(b + path.sep);
  if (inside(abs, live) || inside(live, abs))
    throw new ExportDirError(`export-xml: ${abs} overlaps the XML dir ${live}; choose another folder`);
  const s = await stat(abs).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (s && !s.isDirectory()) throw new ExportDirError(`export-xml: ${abs} is not a directory`);
  if (!s) await mkdir(abs, { recursive: true });
  return abs;
}

/** Writes each entry as `DIR/<key>/<id>.xml` (atomic, durable); returns how many. */
export async function writeXmlTree(dir: string, entries: readonly XmlEntry[]): Promise<number> {
  const dirs = new Set<string>();
  for (const e of entries) {
    if (!KEY_RE.test(e.keyName)) throw new ExportDirError(`export-xml: unsafe key name ${JSON.stringify(e.keyName)}`);
    const file = safeJoin(dir, e.keyName, `${e.clientId}.xml`);
    await writeFileDurable(file, e.xml);
    dirs.add(path.dirname(file));
  }
  // the key folders' own entries in DIR
  if (dirs.size) await fsyncDirAsync(dir);
  return entries.length;
}
