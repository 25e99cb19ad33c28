/** The patriot store: clients, zones, users and import state, per (key_name, client_id). Statements prepared once. */
import type { DB } from '../../core/db.js';
import { INFO_KEYS, USER_KEYS, type Info, type User, type Zone } from './schemas.js';

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

export class PatriotStore {
  private readonly s;
  constructor(readonly db: DB) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
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
      touch: p('UPDATE patriot_clients SET updated_at = ? WHERE key_name = ? AND client_id = ?'),
      getState: p(
        'SELECT status, xml_version, attempts, last_batch FROM patriot_client_state WHERE key_name = ? AND client_id = ?',
      ),
      markChanged: p(
        `INSERT INTO patriot_client_state (key_name, client_id, status, attempts, xml_version, updated_at) VALUES (?, ?, 'changed', 0, 1, ?)
         ON CONFLICT (key_name, client_id) DO UPDATE SET status = 'changed', xml_version = xml_version + 1, updated_at = excluded.updated_at`,
      ),
      deleteState: p('DELETE FROM patriot_client_state WHERE key_name = ? AND client_id = ?'),
      changed: p("SELECT key_name, client_id FROM patriot_client_state WHERE status = 'changed'"),
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
    this.s.deleteState.run(key, id);
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

  state(
    key: string,
    id: number,
  ): { status: string; xml_version: number; attempts: number; last_batch: string | null } | undefined {
    return this.s.getState.get(key, id) as never;
  }

  /** Clients whose latest change is not in an import batch yet (state 'changed'). */
  changedClients(): Array<{ key_name: string; client_id: number }> {
    return this.s.changed.all() as Array<{ key_name: string; client_id: number }>;
  }

  /** status 'changed', xml_version + 1, attempts kept (the hand-over contract with the importer). */
  markChanged(key: string, id: number): void {
    this.s.markChanged.run(key, id, new Date().toISOString());
  }
}
