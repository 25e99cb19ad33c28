/**
 * The patriot store on PostgreSQL (store.driver "postgres"): the reads of PatriotReads on the pool,
 * each one statement (one snapshot, so the parts of a client agree). The answers are the SQLite
 * store's byte for byte: the info and user texts are the JSON the API wrote, kept as TEXT; the
 * zones are serialised here as SQLite's json_object does (field order, escapes).
 */
import type { Page, Paging } from '../../core/paging.js';
import type { PgStore } from '../../core/pg.js';
import { ClientStatePg } from './client-state-pg.js';
import type { Info, User, Zone } from './schemas.js';
import type { ClientFilter, ClientRecord, PatriotReads } from './store.js';

/** One statement on the pool (PgStore.query) or on a transaction's client. */
export type Sql = <R = Record<string, unknown>>(
  sql: string,
  params?: unknown[],
) => Promise<{ rows: R[]; rowCount: number | null }>;

/** PgStore.query as Sql */
export const poolSql = (pg: PgStore): Sql => ((sql: string, params?: unknown[]) => pg.query(sql, params)) as Sql;

/** A client as one row: its info text, its zones as [no, area, module] arrays, its users' texts joined. */
const CLIENT = `
  SELECT c.info, s.status,
    (SELECT json_agg(json_build_array(z.zone_no, z.zone_area, z.module_no) ORDER BY z.zone_no)
       FROM patriot_zones z WHERE z.key_name = c.key_name AND z.client_id = c.client_id) AS zones,
    (SELECT string_agg('"' || u.user_no || '":' || u.data, ',' ORDER BY u.user_no)
       FROM patriot_users u WHERE u.key_name = c.key_name AND u.client_id = c.client_id) AS users
  FROM patriot_clients c LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id
  WHERE c.key_name = $1 AND c.client_id = $2`;

interface ClientRow {
  info: string;
  status: string | null;
  zones: Array<[number, string, number]> | null;
  users: string | null;
}

const zoneOf = ([no, area, mod]: [number, string, number]): Zone => ({ Zone_No: no, Zone_area: area, ModuleNo: mod });

/** The whole client (info, zones, users) read by one statement, or undefined. */
export async function readClient(sql: Sql, key: string, id: number): Promise<ClientRecord | undefined> {
  const r = (await sql<ClientRow>(CLIENT, [key, id])).rows[0];
  if (!r) return undefined;
  return {
    client_id: id,
    info: JSON.parse(r.info) as Info,
    zones: (r.zones ?? []).map(zoneOf),
    users: r.users === null ? [] : Object.values(JSON.parse(`{${r.users}}`) as Record<string, User>),
  };
}

/** `Name` of the info text (json_extract(info, '$.Name') on SQLite) */
const NAME = `(c.info::json ->> 'Name')`;

export class PatriotStorePg implements PatriotReads {
  readonly clientState: ClientStatePg;
  private readonly sql: Sql;

  constructor(pg: PgStore) {
    this.sql = poolSql(pg);
    this.clientState = new ClientStatePg(this.sql);
  }

  async exists(key: string, id: number): Promise<boolean> {
    const r = await this.sql('SELECT 1 FROM patriot_clients WHERE key_name = $1 AND client_id = $2', [key, id]);
    return r.rows.length > 0;
  }

  async zones(key: string, id: number): Promise<Zone[]> {
    const r = await this.sql<Zone>(
      'SELECT zone_no AS "Zone_No", zone_area AS "Zone_area", module_no AS "ModuleNo" FROM patriot_zones WHERE key_name = $1 AND client_id = $2 ORDER BY zone_no',
      [key, id],
    );
    return r.rows;
  }

  async users(key: string, id: number): Promise<User[]> {
    const r = await this.sql<{ data: string }>(
      'SELECT data FROM patriot_users WHERE key_name = $1 AND client_id = $2 ORDER BY user_no',
      [key, id],
    );
    return r.rows.map((u) => JSON.parse(u.data) as User);
  }

  async getUser(key: string, id: number, userNo: number): Promise<User | undefined> {
    const r = await this.sql<{ data: string }>(
      'SELECT data FROM patriot_users WHERE key_name = $1 AND client_id = $2 AND user_no = $3',
      [key, id, userNo],
    );
    return r.rows[0] ? (JSON.parse(r.rows[0].data) as User) : undefined;
  }

  getClient(key: string, id: number): Promise<ClientRecord | undefined> {
    return readClient(this.sql, key, id);
  }

  /** clientView as JSON text, the bytes SQLite's CLIENT_JSON builds (store.ts). */
  async clientJson(key: string, id: number): Promise<{ json: string; status: string | null } | undefined> {
    const r = (await this.sql<ClientRow>(CLIENT, [key, id])).rows[0];
    if (!r) return undefined;
    const zones = (r.zones ?? []).map((z) => `"${z[0]}":${JSON.stringify(zoneOf(z))}`).join(',');
    return {
      json: `{"client_id":${id},"info":${r.info},"zones":{${zones}},"users":{${r.users ?? ''}}}`,
      status: r.status,
    };
  }

  async clientsPerKey(): Promise<Record<string, number>> {
    const r = await this.sql<{ key_name: string; n: number }>(
      'SELECT key_name, COUNT(*)::int AS n FROM patriot_clients GROUP BY key_name',
    );
    return Object.fromEntries(r.rows.map((x) => [x.key_name, x.n]));
  }

  async clientsPage(key: string, f: ClientFilter, p: Paging): Promise<Page<unknown>> {
    const where = ['c.key_name = $1'];
    const params: unknown[] = [key];
    if (f.status !== undefined) {
      params.push(f.status);
      where.push(`s.status = $${params.length}`);
    }
    if (f.q !== undefined) {
      params.push(f.q);
      where.push(
        `(strpos(c.client_id::text, $${params.length}) > 0 OR strpos(COALESCE(${NAME}, ''), $${params.length}) > 0)`,
      );
    }
    const from = `FROM patriot_clients c LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id WHERE ${where.join(' AND ')}`;
    const n = params.length;
    const [count, page] = await Promise.all([
      this.sql<{ n: number }>(`SELECT COUNT(*)::int AS n ${from}`, params),
      this.sql(
        `SELECT c.client_id AS "clientId", ${NAME} AS name, c.updated_at AS "updatedAt",
                s.status, s.last_batch AS "lastBatch", s.attempts
           ${from} ORDER BY c.client_id LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...params, p.limit ?? null, p.offset],
      ),
    ]);
    return { total: count.rows[0]!.n, items: page.rows };
  }
}
