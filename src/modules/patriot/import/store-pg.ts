/** The import pipeline's reads on PostgreSQL (ImportReads; the SQLite statements are in store.ts). */
import type { PgStore } from '../../../core/pg.js';
import { ClientStatePg } from '../client-state-pg.js';
import { poolSql, type Sql } from '../store-pg.js';
import type { ClientStatus, ImportReads, LastRun, RunRow } from './store.js';

const RUN_COLUMNS =
  'run_id, trigger, started_at, finished_at, batch_time, result, clients, bytes, rejected, waiting, checked, check_failed, rotated_as, transport, error';

export class ImportStorePg implements ImportReads {
  readonly clients: ClientStatePg;
  private readonly sql: Sql;

  constructor(pg: PgStore) {
    this.sql = poolSql(pg);
    this.clients = new ClientStatePg(this.sql);
  }

  async hasBatch(runId: string): Promise<boolean> {
    return (await this.sql('SELECT 1 FROM patriot_import_items WHERE run_id = $1 LIMIT 1', [runId])).rows.length > 0;
  }

  async lastRun(): Promise<LastRun | undefined> {
    const r = await this.sql<LastRun>(
      "SELECT run_id, trigger, started_at, finished_at, result, clients, error FROM patriot_import_runs WHERE result <> 'running' ORDER BY id DESC LIMIT 1",
    );
    return r.rows[0];
  }

  async listRuns(limit: number): Promise<RunRow[]> {
    return (await this.sql<RunRow>(`SELECT ${RUN_COLUMNS} FROM patriot_import_runs ORDER BY id DESC LIMIT $1`, [limit]))
      .rows;
  }

  versionOf(keyName: string, clientId: number): Promise<number | null> {
    return this.clients.versionOf(keyName, clientId);
  }

  async clientOf(xmlId: string): Promise<{ key_name: string; client_id: number } | undefined> {
    const r = await this.sql<{ key_name: string; client_id: number }>(
      'SELECT key_name, client_id FROM patriot_import_items WHERE xml_id = $1 ORDER BY seq DESC LIMIT 1',
      [xmlId],
    );
    return r.rows[0];
  }

  exportState(): Promise<Record<string, { status: ClientStatus; last_batch: string | null }>> {
    return this.clients.exportState();
  }
}
