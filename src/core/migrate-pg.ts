/**
 * `fieldhub store migrate-to-postgres`: copies a SQLite store (and the files the modules own under
 * the data dir) into PostgreSQL, re-runnable, verified by counts and checksums (issue 17).
 *
 * The copy is generic: the PostgreSQL schema is the modules' `migrationsPg` (applied first, same
 * versions as SQLite), whose tables keep the SQLite names. Each SQLite table with a PostgreSQL
 * table of the same name is copied column by column (the columns both have), parents before the
 * tables that reference them, each table in one transaction: rows are upserted by the primary key
 * (a table without one is replaced), so a second run leaves the same rows, and serial counters are
 * moved past the copied ids. Then each module copies its own files (`copyFilesToPg`).
 *
 * The checksum is order-independent (a sum of per-row SHA-256 prefixes) over values normalised by
 * the PostgreSQL column type, so the same data in either dialect gives the same sum: numbers as
 * numbers, times as ISO instants, booleans as 0/1, JSON with sorted keys, bytes as hex.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Store } from './db.js';
import type { FieldhubModule } from './module.js';
import type { PgStore } from './pg.js';

export interface TableReport {
  table: string;
  sqliteRows: number;
  pgRows: number;
  ok: boolean;
  /** why the table was not copied, or which columns only one side has */
  note?: string;
}

export interface FilesReport {
  module: string;
  files: number;
  ok: boolean;
}

export interface MigrationReport {
  tables: TableReport[];
  files: FilesReport[];
  ok: boolean;
}

interface PgColumn {
  name: string;
  type: string;
}

const NUMERIC = /^(smallint|integer|bigint|real|double precision|numeric)$/;
const TIME = /^(timestamp|date)/;

function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/** One value as the checksum sees it, by the PostgreSQL column type. */
export function normalise(v: unknown, type: string): string {
  if (v === null || v === undefined) return '\u0000';
  if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`;
  if (type === 'json' || type === 'jsonb') return canonicalJson(typeof v === 'string' ? JSON.parse(v) : v);
  if (typeof v === 'object' && !(v instanceof Date)) return canonicalJson(v);
  const text =
    v instanceof Date
      ? v.toISOString()
      : typeof v === 'string'
        ? v
        : typeof v === 'bigint'
          ? v.toString()
          : JSON.stringify(v);
  if (NUMERIC.test(type)) return String(Number(text));
  if (type === 'boolean') return v === true || v === 1 || text === '1' || text === 't' || text === 'true' ? '1' : '0';
  if (TIME.test(type)) {
    const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v : text);
    return Number.isNaN(d.getTime()) ? text : d.toISOString();
  }
  return text;
}

/** sum mod 2^64 of the first 8 bytes of SHA-256 of each row's normalised values */
class RowSum {
  private sum = 0n;
  count = 0;
  add(values: readonly unknown[], types: readonly string[]): void {
    const h = createHash('sha256');
    values.forEach((v, i) => h.update(normalise(v, types[i]!)).update('\u0001'));
    this.sum = (this.sum + h.digest().readBigUInt64BE(0)) & 0xffffffffffffffffn;
    this.count++;
  }
  get hex(): string {
    return this.sum.toString(16).padStart(16, '0');
  }
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** the SQLite tables in an order where every table comes after the tables it references */
function sqliteTables(db: Store['db']): string[] {
  const names = (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
      )
      .all() as Array<{ name: string }>
  ).map((r) => r.name);
  const deps = new Map(
    names.map((n) => [
      n,
      (db.prepare(`PRAGMA foreign_key_list(${q(n)})`).all() as Array<{ table: string }>)
        .map((f) => f.table)
        .filter((t) => t !== n),
    ]),
  );
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of deps.get(n) ?? []) if (deps.has(d)) visit(d);
    out.push(n);
  };
  names.forEach(visit);
  return out;
}

async function pgColumns(c: pg.PoolClient, table: string): Promise<PgColumn[] | null> {
  const r = await c.query<{ name: string; type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return r.rows.length ? r.rows : null;
}

async function pgPrimaryKey(c: pg.PoolClient, table: string): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary`,
    [q(table)],
  );
  return r.rows.map((x) => x.name);
}

/** at most this many parameters per INSERT (PostgreSQL's limit is 65,535) */
const MAX_PARAMS = 30_000;

async function copyTable(store: Store, c: pg.PoolClient, table: string): Promise<TableReport> {
  const pgCols = await pgColumns(c, table);
  if (!pgCols)
    return { table, sqliteRows: 0, pgRows: 0, ok: true, note: 'no PostgreSQL table of this name: not copied' };
  const liteCols = (store.db.prepare(`PRAGMA table_info(${q(table)})`).all() as Array<{ name: string }>).map(
    (x) => x.name,
  );
  const cols = pgCols.filter((p) => liteCols.includes(p.name));
  const onlyLite = liteCols.filter((n) => !pgCols.some((p) => p.name === n));
  const note = onlyLite.length ? `columns only in SQLite, not copied: ${onlyLite.join(', ')}` : undefined;
  const pk = await pgPrimaryKey(c, table);
  const names = cols.map((x) => q(x.name)).join(', ');
  const rest = cols.filter((x) => !pk.includes(x.name));
  const conflict = pk.length
    ? ` ON CONFLICT (${pk.map(q).join(', ')}) DO ${
        rest.length ? `UPDATE SET ${rest.map((x) => `${q(x.name)} = EXCLUDED.${q(x.name)}`).join(', ')}` : 'NOTHING'
      }`
    : '';
  const perInsert = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / Math.max(1, cols.length))));
  const lite = new RowSum();
  const types = cols.map((x) => x.type);

  await c.query('BEGIN');
  try {
    if (!pk.length) await c.query(`DELETE FROM ${q(table)}`);
    let batch: unknown[][] = [];
    const flush = async () => {
      if (!batch.length) return;
      const params: unknown[] = [];
      const tuples = batch.map((row) => `(${row.map((v) => `$${params.push(v)}`).join(', ')})`);
      await c.query(`INSERT INTO ${q(table)} (${names}) VALUES ${tuples.join(', ')}${conflict}`, params);
      batch = [];
    };
    const select = store.db.prepare(`SELECT ${names} FROM ${q(table)}`).raw(true);
    for (const row of select.iterate() as IterableIterator<unknown[]>) {
      lite.add(row, types);
      batch.push(row);
      if (batch.length >= perInsert) await flush();
    }
    await flush();
    // serial / identity counters past the copied ids
    for (const col of cols) {
      const seq = await c.query<{ s: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS s', [
        q(table),
        col.name,
      ]);
      const s = seq.rows[0]?.s;
      if (s)
        await c.query(
          `SELECT setval($1, GREATEST((SELECT max(${q(col.name)}) FROM ${q(table)}), 1), (SELECT max(${q(col.name)}) FROM ${q(table)}) IS NOT NULL)`,
          [s],
        );
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw new Error(`copying table ${table}: ${(e as Error).message}`, { cause: e });
  }

  const pgSum = await checksumPg(c, table, cols);
  const ok = pgSum.count === lite.count && pgSum.hex === lite.hex;
  return { table, sqliteRows: lite.count, pgRows: pgSum.count, ok, note };
}

async function checksumPg(c: pg.PoolClient, table: string, cols: PgColumn[]): Promise<RowSum> {
  const sum = new RowSum();
  const types = cols.map((x) => x.type);
  await c.query('BEGIN');
  try {
    await c.query(
      `DECLARE fh_check NO SCROLL CURSOR FOR SELECT ${cols.map((x) => q(x.name)).join(', ')} FROM ${q(table)}`,
    );
    for (;;) {
      const r = await c.query({ text: 'FETCH 5000 FROM fh_check', rowMode: 'array' });
      for (const row of r.rows as unknown[][]) sum.add(row, types);
      if (r.rows.length < 5000) break;
    }
  } finally {
    await c.query('COMMIT').catch(() => undefined);
  }
  return sum;
}

/** Copies `store` into `pg` (already migrated to the same versions) and verifies every table and file set. */
export async function migrateToPostgres(
  store: Store,
  pgStore: PgStore,
  modules: readonly FieldhubModule[],
  dataDir: string,
  progress: (line: string) => void = () => undefined,
): Promise<MigrationReport> {
  const tables: TableReport[] = [];
  const c = await pgStore.pool.connect();
  try {
    for (const t of sqliteTables(store.db)) {
      const r = await copyTable(store, c, t);
      progress(
        `${r.ok ? 'ok  ' : 'DIFF'} ${t}: ${r.sqliteRows} rows in SQLite, ${r.pgRows} in PostgreSQL${r.note ? ` (${r.note})` : ''}`,
      );
      tables.push(r);
    }
  } finally {
    c.release();
  }
  const files: FilesReport[] = [];
  for (const m of modules) {
    if (!m.copyFilesToPg || !m.verifyFilesPg) continue;
    const copied = await m.copyFilesToPg(dataDir, pgStore);
    const held = await m.verifyFilesPg(pgStore);
    const ok = copied.files === held.files && copied.checksum === held.checksum;
    progress(`${ok ? 'ok  ' : 'DIFF'} ${m.name} files: ${copied.files} on disk, ${held.files} in PostgreSQL`);
    files.push({ module: m.name, files: copied.files, ok });
  }
  return { tables, files, ok: tables.every((t) => t.ok) && files.every((f) => f.ok) };
}
