/**
 * `fieldhub store migrate-to-postgres` for sync's files: the payload files under <dataDir>/log/plugins
 * (last_result.<plugin>.encoded.<node>.<seq>.log, failed_last_result..., processed_last_result...)
 * copied into sync_payloads by their file name, each tied to its sync_received row (copied before).
 * Re-runnable: a name copied again replaces its row with the same bytes. Temp files, decoded copies of
 * an interrupted run and files without a row (never acknowledged) are not copied.
 * The checksum: SHA-256 over "<name> <sha256 of the data>\n" of every copied file, by name.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { safeJoin } from '../../core/files.js';
import type { PgStore } from '../../core/pg.js';
import { fileComponent } from './names.js';

const PAYLOAD_FILE =
  /^(?:failed_)?last_result\.([A-Za-z0-9_-]{1,64})\.encoded\.(.*)\.(\d+)\.log$|^processed_last_result\.([A-Za-z0-9_-]{1,64})\.(.*)\.(\d+)\.log$/;

function checksum(entries: Array<{ name: string; sha256: string }>): string {
  const h = createHash('sha256');
  for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
    h.update(`${e.name} ${e.sha256}\n`);
  return h.digest('hex');
}

export async function copyPayloadFilesToPg(dataDir: string, pg: PgStore): Promise<{ files: number; checksum: string }> {
  const dir = safeJoin(dataDir, 'log', 'plugins');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { files: 0, checksum: checksum([]) };
    throw e;
  }
  const copied: Array<{ name: string; sha256: string }> = [];
  for (const name of names) {
    const m = PAYLOAD_FILE.exec(name);
    if (!m) continue;
    const plugin = m[1] ?? m[4]!;
    const component = m[2] ?? m[5]!;
    const seq = Number(m[3] ?? m[6]);
    const rows = await pg.query<{ id: string; node: string }>(
      'SELECT id, node FROM sync_received WHERE plugin = $1 AND seq = $2',
      [plugin, seq],
    );
    const row = rows.rows.find((r) => fileComponent(r.node) === component);
    if (!row) continue;
    const data = await readFile(safeJoin(dir, name));
    await pg.query(
      `INSERT INTO sync_payloads (name, id, data) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET id = excluded.id, data = excluded.data`,
      [name, row.id, data],
    );
    copied.push({ name, sha256: createHash('sha256').update(data).digest('hex') });
  }
  return { files: copied.length, checksum: checksum(copied) };
}

export async function verifyPayloadFilesPg(pg: PgStore): Promise<{ files: number; checksum: string }> {
  const r = await pg.query<{ name: string; sha256: string }>(
    "SELECT name, encode(sha256(data), 'hex') AS sha256 FROM sync_payloads",
  );
  return { files: r.rows.length, checksum: checksum(r.rows) };
}
