/**
 * The one owner of `patriot_client_state` (patriot migration 1): a client's import state, written by
 * the API (a change: status 'changed', xml_version + 1, attempts kept) and by the import pipeline
 * (in a batch: pending_import; Patriot's results: imported or import_failed). Statements prepared once.
 */
import type { DB } from '../../core/db.js';
import { PagedList, type Page, type Paging } from '../../core/paging.js';

export type ClientStatus = 'changed' | 'pending_import' | 'imported' | 'import_failed';

export interface StateRow {
  id: string | null;
  key_name: string;
  client_id: number;
  status: ClientStatus;
  last_batch: string | null;
  attempts: number;
  xml_version: number;
  updated_at: string;
}

export interface StateFilter extends Paging {
  status?: ClientStatus;
  keyName?: string;
  id?: string;
}

export type ClientKey = { key_name: string; client_id: number };

type Async<T> = T | Promise<T>;
export type StateCounts = Record<string, number>;

/** The import state's reads, on either driver (client-state-pg.ts on PostgreSQL). */
export interface ClientStateReads {
  changedClients(): Async<ClientKey[]>;
  versionOf(keyName: string, clientId: number): Async<number | null>;
  exportState(): Async<Record<string, { status: ClientStatus; last_batch: string | null }>>;
  countByStatus(): Async<StateCounts>;
  unconfirmedBefore(before: Date): Async<number>;
  list(f: StateFilter): Async<Page<StateRow>>;
}

/** The `__id` of a client's latest batch item. */
const LATEST_ID = `(SELECT i.xml_id FROM patriot_import_items i WHERE i.key_name = s.key_name AND i.client_id = s.client_id ORDER BY i.rowid DESC LIMIT 1)`;

export class ClientStateStore implements ClientStateReads {
  private readonly s;
  private readonly paged;

  constructor(db: DB) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      get: p(
        'SELECT status, xml_version, attempts, last_batch FROM patriot_client_state WHERE key_name = ? AND client_id = ?',
      ),
      markChanged: p(
        `INSERT INTO patriot_client_state (key_name, client_id, status, attempts, xml_version, updated_at) VALUES (?, ?, 'changed', 0, 1, ?)
         ON CONFLICT (key_name, client_id) DO UPDATE SET status = 'changed', xml_version = xml_version + 1, updated_at = excluded.updated_at`,
      ),
      delete: p('DELETE FROM patriot_client_state WHERE key_name = ? AND client_id = ?'),
      changed: p("SELECT key_name, client_id FROM patriot_client_state WHERE status = 'changed'"),
      version: p('SELECT xml_version FROM patriot_client_state WHERE key_name = ? AND client_id = ?').pluck(),
      markPending: p(
        `INSERT INTO patriot_client_state (key_name, client_id, status, last_batch, attempts, xml_version, updated_at)
           VALUES (@key_name, @client_id, 'pending_import', @batch, 0, 0, @now)
         ON CONFLICT (key_name, client_id) DO UPDATE SET
           status = CASE WHEN @version IS NULL OR xml_version = @version THEN 'pending_import' ELSE status END,
           -- a new version made by the installer (not a regenerated retry) starts its attempts afresh
           attempts = CASE WHEN status = 'changed' AND (@version IS NULL OR xml_version = @version) THEN 0 ELSE attempts END,
           last_batch = @batch, updated_at = @now`,
      ),
      markImported: p(
        `UPDATE patriot_client_state SET status = 'imported', attempts = 0, updated_at = @now
           WHERE key_name = @key_name AND client_id = @client_id AND status = 'pending_import'`,
      ),
      markFailed: p(
        `INSERT INTO patriot_client_state (key_name, client_id, status, last_batch, attempts, xml_version, updated_at)
           VALUES (@key_name, @client_id, 'import_failed', NULL, 1, 0, @now)
         ON CONFLICT (key_name, client_id) DO UPDATE SET
           status = CASE WHEN status = 'changed' THEN status ELSE 'import_failed' END,
           attempts = attempts + 1, updated_at = @now
         RETURNING status, attempts`,
      ),
      exportState: p(`SELECT ${LATEST_ID} AS id, s.status, s.last_batch FROM patriot_client_state s`),
      countStatus: p('SELECT status, COUNT(*) AS n FROM patriot_client_state GROUP BY status'),
      unconfirmed: p(
        "SELECT COUNT(*) FROM patriot_client_state WHERE status = 'pending_import' AND updated_at < ?",
      ).pluck(),
    };
    this.paged = new PagedList<StateRow>(db, {
      select: `${LATEST_ID} AS id, s.key_name, s.client_id, s.status, s.last_batch, s.attempts, s.xml_version, s.updated_at`,
      from: 'patriot_client_state s',
      orderBy: 's.key_name, s.client_id',
    });
  }

  get(
    key: string,
    id: number,
  ): { status: string; xml_version: number; attempts: number; last_batch: string | null } | undefined {
    return this.s.get.get(key, id) as never;
  }

  /** status 'changed', xml_version + 1, attempts kept (the hand-over contract with the importer). */
  markChanged(key: string, id: number): void {
    this.s.markChanged.run(key, id, new Date().toISOString());
  }

  delete(key: string, id: number): void {
    this.s.delete.run(key, id);
  }

  /** Clients whose latest change is not in an import batch yet (state 'changed'). */
  changedClients(): ClientKey[] {
    return this.s.changed.all() as ClientKey[];
  }

  versionOf(keyName: string, clientId: number): number | null {
    return (this.s.version.get(keyName, clientId) as number | undefined) ?? null;
  }

  /** In a successful batch: pending_import, unless the API changed the client since the claim (`version`). */
  markPending(c: ClientKey & { batch: string; now: string; version: number | null }): void {
    this.s.markPending.run(c);
  }

  /** Confirmed by Patriot's results. */
  markImported(c: ClientKey & { now: string }): void {
    this.s.markImported.run(c);
  }

  /** Rejected by Patriot's results: its attempts so far and its status (a changed client stays changed). */
  markFailed(c: ClientKey & { now: string }): { status: ClientStatus; attempts: number } {
    return this.s.markFailed.get(c) as { status: ClientStatus; attempts: number };
  }

  /** `__id` -> {status, last_batch}, for client_state.json (clients that have been in a batch). */
  exportState(): Record<string, { status: ClientStatus; last_batch: string | null }> {
    const out: Record<string, { status: ClientStatus; last_batch: string | null }> = {};
    for (const r of this.s.exportState.all() as Array<{
      id: string | null;
      status: ClientStatus;
      last_batch: string | null;
    }>) {
      if (r.id) out[r.id] = { status: r.status, last_batch: r.last_batch };
    }
    return out;
  }

  countByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.s.countStatus.all() as Array<{ status: string; n: number }>) out[r.status] = r.n;
    return out;
  }

  /** Uploaded (pending_import) before `before` and not confirmed since. */
  unconfirmedBefore(before: Date): number {
    return this.s.unconfirmed.get(before.toISOString()) as number;
  }

  list(f: StateFilter): Page<StateRow> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (f.status) {
      where.push('s.status = @status');
      params.status = f.status;
    }
    if (f.keyName) {
      where.push('s.key_name = @key_name');
      params.key_name = f.keyName;
    }
    if (f.id) {
      where.push(`${LATEST_ID} = @id`);
      params.id = f.id;
    }
    return this.paged.page(where, params, f);
  }
}
