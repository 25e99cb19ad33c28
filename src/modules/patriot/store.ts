/**
 * The patriot store: clients, zones and users per (key_name, client_id), with their import state
 * (client-state.ts). `PatriotReads` is the read interface the routes and services use (they await
 * every read); `PatriotStore` is its SQLite implementation (statements prepared once, synchronous:
 * an await of its plain values is one microtask), store-pg.ts the PostgreSQL one.
 */
import type { DB } from '../../core/db.js';
import { pageFromSql, type Page, type Paging } from '../../core/paging.js';
import { ClientStateStore, type ClientStateReads } from './client-state.js';
import { INFO_KEYS, USER_KEYS, type Info, type User, type Zone } from './schemas.js';

/** a value, or its promise (SQLite answers synchronously, PostgreSQL asynchronously) */
export type Async<T> = T | Promise<T>;

export interface ClientRecord {
  client_id: number;
  info: Info;
  zones: Zone[];
  users: User[];
}

/** Keeps the field order of the API whatever order the JSON came in. */
export function orderInfo(info: Info): Info {
  return Object.fromEntries(INFO_KEYS.map((k) => [k, info[k]])) as Info;
}
export function orderUser(u: User): User {
  return Object.fromEntries(USER_KEYS.map((k) => [k, u[k]])) as User;
}

/** GET /clients shape: zones and users keyed by their number, as the original's stored record. */
export function clientView(c: ClientRecord) {
  return {
    client_id: c.client_id,
    info: c.info,
    zones: Object.fromEntries(c.zones.map((z) => [String(z.Zone_No), z])),
    users: Object.fromEntries(c.users.map((u) => [String(u.UserNo), u])),
  };
}

/**
 * clientView of one client as JSON text, built by SQLite in one statement (one read, so its parts
 * agree): the stored info and user texts (written by JSON.stringify in the API's field order) as
 * they are, the zones as objects, each keyed by its number in ascending order.
 */
const CLIENT_JSON = `
  SELECT '{"client_id":' || c.client_id || ',"info":' || c.info
      || ',"zones":{' || COALESCE((SELECT group_concat('"' || z.zone_no || '":'
           || json_object('Zone_No', z.zone_no, 'Zone_area', z.zone_area, 'ModuleNo', z.module_no), ',' ORDER BY z.zone_no)
         FROM patriot_zones z WHERE z.key_name = c.key_name AND z.client_id = c.client_id), '')
      || '},"users":{' || COALESCE((SELECT group_concat('"' || u.user_no || '":' || u.data, ',' ORDER BY u.user_no)
         FROM patriot_users u WHERE u.key_name = c.key_name AND u.client_id = c.client_id), '')
      || '}}' AS json,
    s.status
  FROM patriot_clients c LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id
  WHERE c.key_name = ? AND c.client_id = ?`;

export interface ClientFilter {
  status?: string;
  q?: string;
}

/** The reads of the API, the admin routes and the XML writer, on either driver. */
export interface PatriotReads {
  readonly clientState: ClientStateReads;
  exists(key: string, id: number): Async<boolean>;
  zones(key: string, id: number): Async<Zone[]>;
  users(key: string, id: number): Async<User[]>;
  getUser(key: string, id: number, userNo: number): Async<User | undefined>;
  getClient(key: string, id: number): Async<ClientRecord | undefined>;
  clientJson(key: string, id: number): Async<{ json: string; status: string | null } | undefined>;
  clientsPerKey(): Async<Record<string, number>>;
  clientsPage(key: string, f: ClientFilter, p: Paging): Async<Page<unknown>>;
}

export class PatriotStore implements PatriotReads {
  private readonly s;
  /** the clients' import state (its owner) */
  readonly clientState: ClientStateStore;

  constructor(readonly db: DB) {
    this.clientState = new ClientStateStore(db);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      clientJson: p(CLIENT_JSON),
      getInfo: p('SELECT info FROM patriot_clients WHERE key_name = ? AND client_id = ?').pluck(),
      insertClient: p(
        'INSERT INTO patriot_clients (key_name, client_id, info, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
      ),
      updateInfo: p('UPDATE patriot_clients SET info = ?, updated_at = ? WHERE key_name = ? AND client_id = ?'),
      deleteClient: p('DELETE FROM patriot_clients WHERE key_name = ? AND client_id = ?'),
      zones: p(
        'SELECT zone_no AS Zone_No, zone_area AS Zone_area, module_no AS ModuleNo FROM patriot_zones WHERE key_name = ? AND client_id = ? ORDER BY zone_no',
      ),
      upsertZone: p(
        `INSERT INTO patriot_zones (key_name, client_id, zone_no, zone_area, module_no) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key_name, client_id, zone_no) DO UPDATE SET zone_area = excluded.zone_area, module_no = excluded.module_no`,
      ),
      deleteZone: p('DELETE FROM patriot_zones WHERE key_name = ? AND client_id = ? AND zone_no = ?'),
      users: p('SELECT data FROM patriot_users WHERE key_name = ? AND client_id = ? ORDER BY user_no').pluck(),
      getUser: p('SELECT data FROM patriot_users WHERE key_name = ? AND client_id = ? AND user_no = ?').pluck(),
      insertUser: p('INSERT INTO patriot_users (key_name, client_id, user_no, data) VALUES (?, ?, ?, ?)'),
      updateUser: p('UPDATE patriot_users SET data = ? WHERE key_name = ? AND client_id = ? AND user_no = ?'),
      deleteUser: p('DELETE FROM patriot_users WHERE key_name = ? AND client_id = ? AND user_no = ?'),
      perKey: p('SELECT key_name, COUNT(*) AS n FROM patriot_clients GROUP BY key_name'),
      // the operator's list of a key's clients with their import state (read only)
      clients: p(
        `SELECT c.client_id AS clientId, json_extract(c.info, '$.Name') AS name, c.updated_at AS updatedAt,
                s.status, s.last_batch AS lastBatch, s.attempts
           FROM patriot_clients c LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id
          WHERE c.key_name = @key AND (@status IS NULL OR s.status = @status)
            AND (@q IS NULL OR instr(CAST(c.client_id AS TEXT), @q) > 0 OR instr(COALESCE(json_extract(c.info, '$.Name'), ''), @q) > 0)
          ORDER BY c.client_id LIMIT @limit OFFSET @offset`,
      ),
      count: p(
        `SELECT COUNT(*) FROM patriot_clients c LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id
          WHERE c.key_name = @key AND (@status IS NULL OR s.status = @status)
            AND (@q IS NULL OR instr(CAST(c.client_id AS TEXT), @q) > 0 OR instr(COALESCE(json_extract(c.info, '$.Name'), ''), @q) > 0)`,
      ).pluck(),
      // without a filter: count and page on the primary key range alone, the state joined to the page only
      countAll: p('SELECT COUNT(*) FROM patriot_clients WHERE key_name = @key').pluck(),
      pageAll: p(
        `SELECT c.client_id AS clientId, json_extract(c.info, '$.Name') AS name, c.updated_at AS updatedAt,
                s.status, s.last_batch AS lastBatch, s.attempts
           FROM (SELECT key_name, client_id, info, updated_at FROM patriot_clients WHERE key_name = @key ORDER BY client_id LIMIT @limit OFFSET @offset) c
           LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id ORDER BY c.client_id`,
      ),
      touch: p('UPDATE patriot_clients SET updated_at = ? WHERE key_name = ? AND client_id = ?'),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  getInfo(key: string, id: number): Info | undefined {
    const raw = this.s.getInfo.get(key, id) as string | undefined;
    return raw === undefined ? undefined : (JSON.parse(raw) as Info);
  }

  exists(key: string, id: number): boolean {
    return this.s.getInfo.get(key, id) !== undefined;
  }

  /** Inserts or replaces a client's info. Returns true when it was created. */
  putInfo(key: string, id: number, info: Info, now = new Date().toISOString()): boolean {
    const json = JSON.stringify(orderInfo(info));
    if (this.s.updateInfo.run(json, now, key, id).changes === 1) return false;
    this.s.insertClient.run(key, id, json, now, now);
    return true;
  }

  deleteClient(key: string, id: number): boolean {
    const gone = this.s.deleteClient.run(key, id).changes === 1; // zones and users cascade
    this.clientState.delete(key, id);
    return gone;
  }

  zones(key: string, id: number): Zone[] {
    return this.s.zones.all(key, id) as Zone[];
  }

  putZone(key: string, id: number, z: Zone): void {
    this.s.upsertZone.run(key, id, z.Zone_No, z.Zone_area, z.ModuleNo);
    this.touch(key, id);
  }

  deleteZone(key: string, id: number, zone: number): boolean {
    const gone = this.s.deleteZone.run(key, id, zone).changes === 1;
    if (gone) this.touch(key, id);
    return gone;
  }

  users(key: string, id: number): User[] {
    return (this.s.users.all(key, id) as string[]).map((d) => JSON.parse(d) as User);
  }

  getUser(key: string, id: number, userNo: number): User | undefined {
    const raw = this.s.getUser.get(key, id, userNo) as string | undefined;
    return raw === undefined ? undefined : (JSON.parse(raw) as User);
  }

  insertUser(key: string, id: number, u: User): void {
    this.s.insertUser.run(key, id, u.UserNo, JSON.stringify(orderUser(u)));
    this.touch(key, id);
  }

  /** Replaces an existing user; false when there is none. */
  updateUser(key: string, id: number, u: User): boolean {
    const ok = this.s.updateUser.run(JSON.stringify(orderUser(u)), key, id, u.UserNo).changes === 1;
    if (ok) this.touch(key, id);
    return ok;
  }

  deleteUser(key: string, id: number, userNo: number): boolean {
    const gone = this.s.deleteUser.run(key, id, userNo).changes === 1;
    if (gone) this.touch(key, id);
    return gone;
  }

  private touch(key: string, id: number): void {
    this.s.touch.run(new Date().toISOString(), key, id);
  }

  /** The whole client (info, zones, users), or undefined. One read transaction, so the three parts agree. */
  getClient(key: string, id: number): ClientRecord | undefined {
    return this.db.transaction(() => {
      const info = this.getInfo(key, id);
      if (!info) return undefined;
      return { client_id: id, info, zones: this.zones(key, id), users: this.users(key, id) };
    })();
  }

  /** clientView(getClient(...)) as JSON text with the client's import status; undefined when there is none. */
  clientJson(key: string, id: number): { json: string; status: string | null } | undefined {
    return this.s.clientJson.get(key, id) as { json: string; status: string | null } | undefined;
  }

  /** How many clients each key has. */
  clientsPerKey(): Record<string, number> {
    const rows = this.s.perKey.all() as Array<{ key_name: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.key_name, r.n]));
  }

  /** A key's clients with their import state, paged; `q` searches id and name. */
  clientsPage(key: string, f: ClientFilter, p: Paging): Page<unknown> {
    if (f.status === undefined && f.q === undefined) return pageFromSql(this.s.countAll, this.s.pageAll, { key }, p);
    return pageFromSql(this.s.count, this.s.clients, { key, status: f.status ?? null, q: f.q ?? null }, p);
  }
}
