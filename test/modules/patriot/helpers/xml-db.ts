/**
 * The per-client XML and the patriot tables as the tests look at them, on either driver. On SQLite
 * the files `<dataDir>/out/clients/<key>/<id>.xml` and the SQLite file; on PostgreSQL (the
 * vitest.pg.config.ts run) the rows of `patriot_client_xml` and the data dir's own database
 * (test/helpers/driver.ts pgUrlFor), reached synchronously through psql, so the tests keep their shape:
 * a "file" written, read, listed or removed is that row.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { onPostgres, pgUrlFor } from '../../../helpers/driver.js';

export { onPostgres };

/** `<dataDir>/out/clients/<key>/<id>.xml` -> its data dir, key and client (null: not a per-client file) */
function parse(file: string): { dataDir: string; key: string; id: number } | null {
  const m = /^(.*)\/out\/clients\/([^/]+)\/([0-9]+)\.xml$/.exec(file);
  return m ? { dataDir: m[1]!, key: m[2]!, id: Number(m[3]) } : null;
}

/** A literal for SQL text (dollar-quoted with a tag the text does not hold). */
function lit(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  let tag: string;
  do tag = `q${randomBytes(4).toString('hex')}`;
  while (s.includes(tag));
  return `$${tag}$${s}$${tag}$`;
}

/** Runs SQL on the database of `dataDir` (psql, stdin) and returns its unaligned output. */
export function psql(dataDir: string, sql: string): string {
  const url = new URL(pgUrlFor(dataDir));
  return execFileSync(
    'psql',
    [
      '-h',
      url.hostname,
      '-p',
      url.port,
      '-U',
      decodeURIComponent(url.username),
      '-d',
      url.pathname.slice(1),
      '-X',
      '-q',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      '-f',
      '-',
    ],
    {
      input: sql,
      env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
}

/** Rows of a query as JSON objects (integers as numbers, as better-sqlite3 gives them). */
function rows(dataDir: string, sql: string): Array<Record<string, unknown>> {
  const out = psql(dataDir, `SELECT COALESCE(json_agg(q), '[]'::json) FROM (${sql}) q;`);
  return JSON.parse(out) as Array<Record<string, unknown>>;
}

/** `?` placeholders filled with literals (the tests' SQL has no `?` in its texts). */
const bind = (sql: string, params: unknown[]) => {
  let i = 0;
  return sql.replace(/\?/g, () => lit(params[i++]));
};

interface Stmt {
  get(...p: unknown[]): unknown;
  all(...p: unknown[]): unknown[];
  run(...p: unknown[]): unknown;
}

/** The app's patriot tables as `prepare(sql).get/all/run(...)`, on either driver. */
export function testDb(app: FastifyInstance): { prepare(sql: string): Stmt } {
  if (!onPostgres) return app.store.db;
  const dataDir = app.config.dataDir;
  return {
    prepare: (sql) => ({
      get: (...p) => rows(dataDir, bind(sql, p))[0],
      all: (...p) => rows(dataDir, bind(sql, p)),
      run: (...p) => psql(dataDir, bind(sql, p) + ';'),
    }),
  };
}

/** The per-client XML of `file` (`t.xml(key, id)`): the file's text, or its row's; throws ENOENT when there is none. */
export function readXml(file: string): string {
  const f = onPostgres ? parse(file) : null;
  if (!f) return readFileSync(file, 'utf8');
  const r = rows(
    f.dataDir,
    `SELECT xml FROM patriot_client_xml WHERE key_name = ${lit(f.key)} AND client_id = ${f.id}`,
  );
  if (!r[0]) throw Object.assign(new Error(`ENOENT: no per-client XML ${f.key}/${f.id}`), { code: 'ENOENT' });
  return r[0].xml as string;
}

export function xmlExists(file: string): boolean {
  const f = onPostgres ? parse(file) : null;
  if (!f) return existsSync(file);
  return (
    rows(f.dataDir, `SELECT 1 FROM patriot_client_xml WHERE key_name = ${lit(f.key)} AND client_id = ${f.id}`).length >
    0
  );
}

/** Removes the per-client XML (as the importer does after an upload). */
export function removeXml(file: string): void {
  const f = onPostgres ? parse(file) : null;
  if (!f) return unlinkSync(file);
  psql(f.dataDir, `DELETE FROM patriot_client_xml WHERE key_name = ${lit(f.key)} AND client_id = ${f.id};`);
}

/** On PostgreSQL: the XML rows of `xmlDir`'s data dir as the relative file names `<key>/<id>.xml`, sorted; else null. */
export function xmlRows(xmlDir: string): string[] | null {
  const m = onPostgres ? /^(.*)\/out\/clients\/?$/.exec(xmlDir) : null;
  if (!m) return null;
  return rows(m[1]!, `SELECT key_name || '/' || client_id || '.xml' AS f FROM patriot_client_xml`)
    .map((r) => r.f as string)
    .sort();
}

/**
 * On PostgreSQL: a per-client XML row as the API would write it (`ageS` seconds old goes before the
 * others: the import's order); returns true. Else false (the caller writes the file).
 */
export function writeXmlRow(file: string, text: string, ageS?: number): boolean {
  const f = onPostgres ? parse(file) : null;
  if (!f) return false;
  const queued =
    ageS === undefined
      ? `nextval(pg_get_serial_sequence('patriot_client_xml', 'queued'))`
      : String(-Math.round(ageS * 1000));
  psql(
    f.dataDir,
    `INSERT INTO patriot_client_xml (key_name, client_id, xml, xml_version, updated_at, queued)
       VALUES (${lit(f.key)}, ${f.id}, ${lit(text)},
               (SELECT xml_version FROM patriot_client_state WHERE key_name = ${lit(f.key)} AND client_id = ${f.id}),
               ${lit(new Date().toISOString())}, ${queued})
     ON CONFLICT (key_name, client_id) DO UPDATE SET xml = excluded.xml, xml_version = excluded.xml_version,
       updated_at = excluded.updated_at, claimed_by = NULL${ageS === undefined ? '' : ', queued = excluded.queued'};`,
  );
  return true;
}

export const dataDirOf = (xmlDir: string) => path.dirname(path.dirname(xmlDir));

/** The module's core notifications, newest first (Store.listNotifications), on either driver. */
export function notifications(app: FastifyInstance, module = 'patriot'): Array<{ level: string; text: string }> {
  if (!onPostgres) return app.store.listNotifications(module);
  return rows(
    app.config.dataDir,
    `SELECT id::int AS id, level, text FROM notifications WHERE module = ${lit(module)} ORDER BY id DESC LIMIT 100`,
  ) as Array<{ level: string; text: string }>;
}

/**
 * On PostgreSQL: a shell command that rewrites the per-client XML row of `file` with `text` as the
 * API would (a newer version: its claim cleared), for a wrapper run during an upload; else null.
 */
export function xmlRowWriteCommand(file: string, text: string, sqlFile: string): string | null {
  const f = onPostgres ? parse(file) : null;
  if (!f) return null;
  writeFileSync(
    sqlFile,
    `UPDATE patriot_client_xml SET xml = ${lit(text)}, claimed_by = NULL, updated_at = ${lit(new Date().toISOString())}
      WHERE key_name = ${lit(f.key)} AND client_id = ${f.id};\n`,
  );
  return `psql '${pgUrlFor(f.dataDir)}' -X -q -v ON_ERROR_STOP=1 -f ${sqlFile}`;
}

/** On PostgreSQL: many per-client XML rows at once, queued in the given order (oldest first). */
export function writeXmlRows(xmlDir: string, entries: Array<{ key: string; id: number; text: string }>): void {
  const dataDir = dataDirOf(xmlDir);
  const now = lit(new Date().toISOString());
  const values = entries.map((e, i) => `(${lit(e.key)}, ${e.id}, ${lit(e.text)}, ${now}, ${i + 1})`);
  psql(
    dataDir,
    `INSERT INTO patriot_client_xml (key_name, client_id, xml, updated_at, queued) VALUES ${values.join(',\n')};`,
  );
}

/**
 * The config of a CLI run against a test's data dir: on PostgreSQL its database (migrated first, so a
 * test can put rows there) and only the patriot module enabled.
 */
export async function cliConfig(dataDir: string, cfg: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (!onPostgres) return cfg;
  const { openStores } = await import('../../../../src/app.js');
  const { testConfig } = await import('../../../helpers/app.js');
  const patriot = (await import('../../../../src/modules/patriot/index.js')).default;
  const stores = await openStores(testConfig({}, dataDir), [patriot]);
  await stores.close();
  return {
    ...cfg,
    store: { driver: 'postgres', url: pgUrlFor(dataDir) },
    sync: { enabled: false },
    push: { enabled: false },
    conduit: { enabled: false },
  };
}
