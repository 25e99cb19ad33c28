/**
 * Paged lists of the operator API: the `limit` / `offset` query fields, and one page (the rows and
 * the total of the filter) from SQL or from an array. Every module's admin list answers `total` + rows.
 */
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import type { DB } from './db.js';

/** `limit` absent means every row from `offset` on. */
export interface Paging {
  limit?: number;
  offset: number;
}

export interface Page<T> {
  total: number;
  items: T[];
}

type Limit = z.ZodCoercedNumber<unknown>;
type Offset = z.ZodDefault<z.ZodCoercedNumber<unknown>>;

/** The query fields of a paged list; without `default` the limit is optional (absent: all rows). */
export function pageFields(o: { max: number; default: number }): { limit: z.ZodDefault<Limit>; offset: Offset };
export function pageFields(o: { max: number }): { limit: z.ZodOptional<Limit>; offset: Offset };
export function pageFields(o: { max: number; default?: number }) {
  const limit = z.coerce.number().int().min(1).max(o.max);
  return {
    limit: o.default === undefined ? limit.optional() : limit.default(o.default),
    offset: z.coerce.number().int().min(0).default(0),
  };
}

type Params = Record<string, unknown>;

/** A page from two statements of one filter: `count` (plucked COUNT(*)) and `page` (reads @limit and @offset). */
export function pageFromSql<T>(count: Statement, page: Statement, params: Params, p: Paging): Page<T> {
  return {
    total: count.get(params) as number,
    items: page.all({ ...params, limit: p.limit ?? -1, offset: p.offset }) as T[],
  };
}

/** A page of rows already in memory (filtered and sorted by the caller). */
export function pageFromArray<T>(rows: readonly T[], p: Paging): Page<T> {
  return {
    total: rows.length,
    items: p.limit === undefined ? rows.slice(p.offset) : rows.slice(p.offset, p.offset + p.limit),
  };
}

/**
 * A list whose filter is built per request (`WHERE` from the given conditions): its count and page
 * statements are prepared once per distinct set of conditions, not per request.
 */
export class PagedList<T> {
  private readonly cache = new Map<string, { count: Statement; page: Statement }>();

  /** `select`: the columns; `from`: the FROM clause (alias and joins); `orderBy`: the ORDER BY terms. */
  constructor(
    private readonly db: DB,
    private readonly sql: { select: string; from: string; orderBy: string },
  ) {}

  /** `where`: conditions ANDed (named parameters from `params`). */
  page(where: readonly string[], params: Params, p: Paging): Page<T> {
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    let st = this.cache.get(w);
    if (!st) {
      const { select, from, orderBy } = this.sql;
      st = {
        count: this.db.prepare(`SELECT COUNT(*) FROM ${from} ${w}`).pluck(),
        page: this.db.prepare(`SELECT ${select} FROM ${from} ${w} ORDER BY ${orderBy} LIMIT @limit OFFSET @offset`),
      };
      this.cache.set(w, st);
    }
    return pageFromSql<T>(st.count, st.page, params, p);
  }
}
