/** The import state's reads on PostgreSQL (ClientStateReads; the SQLite owner is client-state.ts). */
import type { Page } from '../../core/paging.js';
import type { ClientKey, ClientStateReads, ClientStatus, StateFilter, StateRow } from './client-state.js';
import type { Sql } from './store-pg.js';

/** The `__id` of a client's latest batch item (SQLite orders by rowid, PostgreSQL by seq). */
const LATEST_ID = `(SELECT i.xml_id FROM patriot_import_items i WHERE i.key_name = s.key_name AND i.client_id = s.client_id ORDER BY i.seq DESC LIMIT 1)`;

export class ClientStatePg implements ClientStateReads {
  constructor(private readonly sql: Sql) {}

  async changedClients(): Promise<ClientKey[]> {
    return (await this.sql<ClientKey>("SELECT key_name, client_id FROM patriot_client_state WHERE status = 'changed'"))
      .rows;
  }

  async versionOf(keyName: string, clientId: number): Promise<number | null> {
    const r = await this.sql<{ v: number }>(
      'SELECT xml_version AS v FROM patriot_client_state WHERE key_name = $1 AND client_id = $2',
      [keyName, clientId],
    );
    return r.rows[0]?.v ?? null;
  }

  async exportState(): Promise<Record<string, { status: ClientStatus; last_batch: string | null }>> {
    const r = await this.sql<{ id: string | null; status: ClientStatus; last_batch: string | null }>(
      `SELECT ${LATEST_ID} AS id, s.status, s.last_batch FROM patriot_client_state s ORDER BY s.key_name, s.client_id`,
    );
    const out: Record<string, { status: ClientStatus; last_batch: string | null }> = {};
    for (const x of r.rows) if (x.id) out[x.id] = { status: x.status, last_batch: x.last_batch };
    return out;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const r = await this.sql<{ status: string; n: number }>(
      'SELECT status, COUNT(*)::int AS n FROM patriot_client_state GROUP BY status ORDER BY status COLLATE "C"',
    );
    return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
  }

  async unconfirmedBefore(before: Date): Promise<number> {
    const r = await this.sql<{ n: number }>(
      "SELECT COUNT(*)::int AS n FROM patriot_client_state WHERE status = 'pending_import' AND updated_at < $1",
      [before.toISOString()],
    );
    return r.rows[0]!.n;
  }

  async list(f: StateFilter): Promise<Page<StateRow>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (cond: (p: string) => string, v: unknown) => {
      params.push(v);
      where.push(cond(`$${params.length}`));
    };
    if (f.status) add((p) => `s.status = ${p}`, f.status);
    if (f.keyName) add((p) => `s.key_name = ${p}`, f.keyName);
    if (f.id) add((p) => `${LATEST_ID} = ${p}`, f.id);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const n = params.length;
    const [count, page] = await Promise.all([
      this.sql<{ n: number }>(`SELECT COUNT(*)::int AS n FROM patriot_client_state s ${w}`, params),
      this.sql<StateRow>(
        `SELECT ${LATEST_ID} AS id, s.key_name, s.client_id, s.status, s.last_batch, s.attempts, s.xml_version, s.updated_at
           FROM patriot_client_state s ${w} ORDER BY s.key_name COLLATE "C", s.client_id LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...params, f.limit ?? null, f.offset],
      ),
    ]);
    return { total: count.rows[0]!.n, items: page.rows };
  }
}
