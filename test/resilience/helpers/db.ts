/**
 * The store a server of the suite wrote, read as the tests look at it, on either driver: on SQLite
 * the file `<dataDir>/fieldhub.sqlite` (better-sqlite3, opened as the tests always did); on
 * PostgreSQL (vitest.resilience.pg.config.ts) the data dir's own database (test/helpers/driver.ts
 * pgUrlFor) through the `pg` package. Same SQL on both (`?` placeholders), same row shapes: 64-bit
 * integers and numerics come back as numbers, as better-sqlite3 gives them.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import pg from 'pg';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';

export { onPostgres };

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    // int8 (count(*), sum of integers, BIGSERIAL) and numeric: numbers, as on SQLite
    oid === 20 || oid === 1700
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** `?` -> `$1`, `$2`, ... (the suite's SQL has no `?` inside its literals). */
const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

export interface StoreReader {
  all<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  /** the first column of each row */
  column<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  /**
   * SQLite's `PRAGMA integrity_check` ('ok' when whole). PostgreSQL has no counterpart a test can
   * run on a database (its WAL replay after a crash is the server's own); null there, and the tests
   * check instead that no partial batch exists.
   */
  integrityCheck(): string | null;
  close(): Promise<void>;
}

/** Opens the store of `dataDir` (SQLite: `readonly` as the test asks; PostgreSQL: one connection). */
export async function openStore(dataDir: string, opts: { readonly?: boolean } = {}): Promise<StoreReader> {
  if (!onPostgres) {
    const db = new Database(path.join(dataDir, 'fieldhub.sqlite'), opts.readonly ? { readonly: true } : {});
    return {
      all: async <T>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[],
      column: async <T>(sql: string, ...params: unknown[]) =>
        db
          .prepare(sql)
          .pluck()
          .all(...params) as T[],
      integrityCheck: () => db.pragma('integrity_check', { simple: true }) as string,
      close: async () => void db.close(),
    };
  }
  const c = new pg.Client({ connectionString: pgUrlFor(dataDir), types });
  await c.connect();
  const all = async <T>(sql: string, ...params: unknown[]) => (await c.query(numbered(sql), params)).rows as T[];
  return {
    all,
    column: async <T>(sql: string, ...params: unknown[]) =>
      (await all<Record<string, T>>(sql, ...params)).map((r) => Object.values(r)[0] as T),
    integrityCheck: () => null,
    close: () => c.end(),
  };
}
