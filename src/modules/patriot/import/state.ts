/** The import pipeline's SQL: runs, batch items, and its columns of patriot_client_state. Statements prepared once. */
import type { DB } from '../../../core/db.js';
import { PagedList, type Page } from '../../../core/paging.js';

export type ClientStatus = 'changed' | 'pending_import' | 'imported' | 'import_failed';
export type RunResult = 'running' | 'ok' | 'empty' | 'local' | 'failed';

export interface RunRow {
  run_id: string;
  trigger: string;
  started_at: string;
  finished_at: string | null;
  batch_time: string;
  result: RunResult;
  clients: number;
  bytes: number;
  rejected: number;
  waiting: number;
  checked: number;
  check_failed: number;
  rotated_as: string | null;
  transport: string;
  error: string | null;
}

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

export interface BatchItem {
  xmlId: string;
  keyName: string;
  clientId: number;
  /** the client's xml_version when its file was claimed (null: no state row) */
  version: number | null;
}

export interface StateFilter {
  status?: ClientStatus;
  keyName?: string;
  id?: string;
  limit: number;
  offset: number;
}

const LATEST_ID = `(SELECT i.xml_id FROM patriot_import_items i WHERE i.key_name = s.key_name AND i.client_id = s.client_id ORDER BY i.rowid DESC LIMIT 1)`;

export class ImportStore {
  private readonly s;
  private readonly stateList;

  constructor(readonly db: DB) {
    this.stateList = new PagedList<StateRow>(db, {
      select: `${LATEST_ID} AS id, s.key_name, s.client_id, s.status, s.last_batch, s.attempts, s.xml_version, s.updated_at`,
      from: 'patriot_client_state s',
      orderBy: 's.key_name, s.client_id',
    });
    this.s = {
      insertRun: db.prepare(
        `INSERT INTO patriot_import_runs (run_id, trigger, started_at, batch_time, result, transport) VALUES (@run_id, @trigger, @started_at, @batch_time, 'running', @transport)`,
      ),
      finishRun: db.prepare(
        `UPDATE patriot_import_runs SET finished_at = @finished_at, result = @result, clients = @clients, bytes = @bytes, rejected = @rejected,
           waiting = @waiting, checked = @checked, check_failed = @check_failed, rotated_as = @rotated_as, error = @error WHERE run_id = @run_id`,
      ),
      // a run whose batch was recorded had uploaded it: it stopped after its success, not during the run
      abandonRuns: db.prepare(
        `UPDATE patriot_import_runs SET
           result = CASE WHEN EXISTS (SELECT 1 FROM patriot_import_items i WHERE i.run_id = patriot_import_runs.run_id) THEN 'ok' ELSE 'failed' END,
           error = CASE WHEN EXISTS (SELECT 1 FROM patriot_import_items i WHERE i.run_id = patriot_import_runs.run_id)
             THEN 'interrupted after the batch was uploaded and recorded' ELSE 'interrupted (process stopped during the run)' END,
           finished_at = ?
         WHERE result = 'running'`,
      ),
      hasBatch: db.prepare(`SELECT 1 FROM patriot_import_items WHERE run_id = ? LIMIT 1`).pluck(),
      listRuns: db.prepare(
        `SELECT run_id, trigger, started_at, finished_at, batch_time, result, clients, bytes, rejected, waiting, checked, check_failed, rotated_as, transport, error FROM patriot_import_runs ORDER BY id DESC LIMIT ?`,
      ),
      version: db.prepare(`SELECT xml_version FROM patriot_client_state WHERE key_name = ? AND client_id = ?`).pluck(),
      insertItem: db.prepare(
        `INSERT OR REPLACE INTO patriot_import_items (run_id, xml_id, key_name, client_id, xml_version) VALUES (?, ?, ?, ?, ?)`,
      ),
      // included in a successful batch: pending_import, unless the API changed the client since the claim
      markPending: db.prepare(
        `INSERT INTO patriot_client_state (key_name, client_id, status, last_batch, attempts, xml_version, updated_at)
           VALUES (@key_name, @client_id, 'pending_import', @batch, 0, 0, @now)
         ON CONFLICT (key_name, client_id) DO UPDATE SET
           status = CASE WHEN @version IS NULL OR xml_version = @version THEN 'pending_import' ELSE status END,
           -- a new version made by the installer (not a regenerated retry) starts its attempts afresh
           attempts = CASE WHEN status = 'changed' AND (@version IS NULL OR xml_version = @version) THEN 0 ELSE attempts END,
           last_batch = @batch, updated_at = @now`,
      ),
      itemByXmlId: db.prepare(
        `SELECT key_name, client_id FROM patriot_import_items WHERE xml_id = ? ORDER BY rowid DESC LIMIT 1`,
      ),
      markImported: db.prepare(
        `UPDATE patriot_client_state SET status = 'imported', attempts = 0, updated_at = @now
           WHERE key_name = @key_name AND client_id = @client_id AND status = 'pending_import'`,
      ),
      markFailed: db.prepare(
        `INSERT INTO patriot_client_state (key_name, client_id, status, last_batch, attempts, xml_version, updated_at)
           VALUES (@key_name, @client_id, 'import_failed', NULL, 1, 0, @now)
         ON CONFLICT (key_name, client_id) DO UPDATE SET
           status = CASE WHEN status = 'changed' THEN status ELSE 'import_failed' END,
           attempts = attempts + 1, updated_at = @now
         RETURNING status, attempts`,
      ),
      exportState: db.prepare(`SELECT ${LATEST_ID} AS id, s.status, s.last_batch FROM patriot_client_state s`),
      countStatus: db.prepare(`SELECT status, COUNT(*) AS n FROM patriot_client_state GROUP BY status`),
    };
  }

  startRun(r: { run_id: string; trigger: string; started_at: string; batch_time: string; transport: string }): void {
    this.s.insertRun.run(r);
  }

  finishRun(r: Omit<RunRow, 'trigger' | 'started_at' | 'batch_time' | 'transport'> & { finished_at: string }): void {
    this.s.finishRun.run(r);
  }

  /** true when the run's batch was recorded (uploaded, clients marked pending_import). */
  hasBatch(runId: string): boolean {
    return this.s.hasBatch.get(runId) !== undefined;
  }

  /** Runs left 'running' by a process that died: marked failed at start-up (ok when their batch had been recorded). */
  abandonRuns(): number {
    return this.s.abandonRuns.run(new Date().toISOString()).changes;
  }

  listRuns(limit: number): RunRow[] {
    return this.s.listRuns.all(limit) as RunRow[];
  }

  versionOf(keyName: string, clientId: number): number | null {
    return (this.s.version.get(keyName, clientId) as number | undefined) ?? null;
  }

  /** One transaction: batch items recorded, clients marked pending_import with the batch time. */
  recordBatch(runId: string, batch: string, items: BatchItem[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const it of items) {
        this.s.insertItem.run(runId, it.xmlId, it.keyName, it.clientId, it.version);
        this.s.markPending.run({ key_name: it.keyName, client_id: it.clientId, batch, now, version: it.version });
      }
    })();
  }

  /** The client an `__id` of an uploaded batch belongs to. */
  clientOf(xmlId: string): { key_name: string; client_id: number } | undefined {
    return this.s.itemByXmlId.get(xmlId) as { key_name: string; client_id: number } | undefined;
  }

  /**
   * Applies a results check in one transaction. Returns, for each failed client, its attempts
   * so far (the caller regenerates it or gives up).
   */
  applyCheck(
    completed: Array<{ key_name: string; client_id: number }>,
    failed: Array<{ key_name: string; client_id: number }>,
  ): Array<{ key_name: string; client_id: number; attempts: number; status: ClientStatus }> {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      for (const c of completed) this.s.markImported.run({ ...c, now });
      return failed.map((c) => {
        const r = this.s.markFailed.get({ ...c, now }) as { status: ClientStatus; attempts: number };
        return { ...c, ...r };
      });
    })();
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

  listState(f: StateFilter): Page<StateRow> {
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
    return this.stateList.page(where, params, f);
  }
}
