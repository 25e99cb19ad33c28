/**
 * The conduit reads on PostgreSQL (store.ts `ConduitReads`), on the pool: the same answers as the
 * SQLite statements of query.ts and users.ts. Text is ordered as SQLite's BINARY collation does
 * (COLLATE "C"); BIGINT val_date and counts are read as numbers (unix seconds stay far below 2^53).
 * The datapoint query names its val_date range, so PostgreSQL reads only the months it covers.
 */
import pg from 'pg';
import { storeError, type PgStore } from '../../core/pg.js';
import type { ChannelMeta, DeviceSummary, PointRow, QueryArgs } from './query.js';
import type { ConduitReads } from './store.js';
import * as users from './users-pg.js';

const INT8 = 20;
/** int8 as a JS number (val_date, counts) */
const parser = (oid: number): ((v: string) => unknown) =>
  oid === INT8 ? Number : (pg.types.getTypeParser(oid, 'text') as (v: string) => unknown);
export const TYPES = { getTypeParser: parser };

const LAST_PER_DEVICE = `SELECT v.id, v.netid, s.name AS site, v.tag, v.label,
    (SELECT MAX(d.val_date) FROM conduit_channels c JOIN conduit_datapoints d ON d.device_id = c.device_id AND d.chid = c.chid
      WHERE c.device_id = v.id) AS last
  FROM conduit_devices v JOIN conduit_sites s ON s.id = v.site_id`;
const MATCH = `($1::text IS NULL OR strpos(v.netid, $1) > 0 OR strpos(COALESCE(v.tag, ''), $1) > 0)`;
const META = `SELECT c.device_id, v.netid, c.chid, s.name AS site, v.tag, v.type, v.label, v.category, v.powersource,
    v.manufacturer, v.supplier, v.model, v.serial, v.network, v.lat, v.lng, v.error,
    c.type AS val_type, c.description AS val_description, c.cal AS val_cal, c."offset" AS val_offset
  FROM conduit_channels c JOIN conduit_devices v ON v.id = c.device_id JOIN conduit_sites s ON s.id = v.site_id`;

export class ConduitReadsPg implements ConduitReads {
  /** the pool, with int8 read as numbers and errors as the store's (503 when unreachable) */
  private readonly q: users.Queryable;

  constructor(private readonly store: PgStore) {
    this.q = {
      query: (async (text: string, values?: unknown[]) => {
        try {
          return await store.pool.query({ text, values, types: TYPES });
        } catch (e) {
          throw storeError(e);
        }
      }) as users.Queryable['query'],
    };
  }

  private async rows<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.q.query<R>(text, values)).rows;
  }

  byToken(token: string) {
    return users.byToken(this.q, token);
  }

  users() {
    return users.listUsers(this.q);
  }

  sites() {
    return users.sites(this.q);
  }

  async points(user: number, a: QueryArgs): Promise<PointRow[]> {
    const values: unknown[] = [user, a.from, a.to, a.limit];
    let where = '';
    if (a.ids) {
      values.push(a.ids);
      where += ` AND v.netid = ANY($${values.length}::text[])`;
    }
    if (a.chs) {
      values.push(a.chs);
      where += ` AND d.chid = ANY($${values.length}::int[])`;
    }
    try {
      const r = await this.store.pool.query<PointRow>({
        text: `SELECT d.device_id, d.chid, d.val_date, d.val_raw
                 FROM conduit_datapoints d JOIN conduit_devices v ON v.id = d.device_id
                WHERE d.val_date BETWEEN $2 AND $3
                  AND v.site_id IN (SELECT site_id FROM conduit_user_sites WHERE user_id = $1)${where}
                ORDER BY d.val_date, v.netid COLLATE "C", d.chid LIMIT $4`,
        values,
        types: TYPES,
        rowMode: 'array',
      });
      return r.rows;
    } catch (e) {
      throw storeError(e);
    }
  }

  async metaOf(rows: readonly PointRow[]) {
    const pairs = new Map<string, [number, number]>();
    for (const r of rows) pairs.set(`${r[0]}:${r[1]}`, [r[0], r[1]]);
    const found = new Map<string, ChannelMeta>();
    if (pairs.size) {
      const list = [...pairs.values()];
      const got = await this.rows<ChannelMeta & { device_id: number }>(
        `${META} JOIN unnest($1::int[], $2::int[]) AS k(device_id, chid) ON k.device_id = c.device_id AND k.chid = c.chid`,
        [list.map((p) => p[0]), list.map((p) => p[1])],
      );
      for (const { device_id, ...m } of got) found.set(`${device_id}:${m.chid}`, m);
    }
    return (device: number, chid: number) => found.get(`${device}:${chid}`);
  }

  async userCounts() {
    const r = await this.rows<{ n: number; enabled: number }>(
      'SELECT COUNT(*)::int AS n, COALESCE(SUM(enabled), 0)::int AS enabled FROM conduit_users',
    );
    return r[0]!;
  }

  devices() {
    return this.rows<DeviceSummary>(`${LAST_PER_DEVICE} ORDER BY v.netid COLLATE "C"`);
  }

  async devicePage(q: string | null, limit: number, offset: number) {
    const [count, devices] = await Promise.all([
      this.rows<{ n: number }>(`SELECT COUNT(*)::int AS n FROM conduit_devices v WHERE ${MATCH}`, [q]),
      this.rows<DeviceSummary>(`${LAST_PER_DEVICE} WHERE ${MATCH} ORDER BY v.netid COLLATE "C" LIMIT $2 OFFSET $3`, [
        q,
        limit,
        offset,
      ]),
    ]);
    return { total: count[0]!.n, devices };
  }

  async countSince(since: number) {
    const r = await this.rows<{ n: number }>('SELECT COUNT(*)::int AS n FROM conduit_datapoints WHERE val_date >= $1', [
      since,
    ]);
    return r[0]!.n;
  }

  channelsOf(netid: string) {
    return this.rows<{ chid: number; type: string | null; description: string | null }>(
      'SELECT c.chid, c.type, c.description FROM conduit_channels c JOIN conduit_devices v ON v.id = c.device_id WHERE v.netid = $1 ORDER BY c.chid',
      [netid],
    );
  }

  async channelSeries(a: { netid: string; chid: number; from: number; to: number; limit: number }) {
    try {
      const r = await this.store.pool.query<[number, number]>({
        text: `SELECT d.val_date, d.val_raw FROM conduit_devices v JOIN conduit_datapoints d ON d.device_id = v.id
                WHERE v.netid = $1 AND d.chid = $2 AND d.val_date BETWEEN $3 AND $4 ORDER BY d.val_date LIMIT $5`,
        values: [a.netid, a.chid, a.from, a.to, a.limit],
        types: TYPES,
        rowMode: 'array',
      });
      return r.rows;
    } catch (e) {
      throw storeError(e);
    }
  }
}
