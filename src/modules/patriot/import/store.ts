/** The import pipeline's SQL: runs and batch items (the client state through its owner, client-state.ts). Statements prepared once. */
import type { DB } from '../../../core/db.js';
import { ClientStateStore, type ClientStateReads, type ClientStatus } from '../client-state.js';

type Async<T> = T | Promise<T>;
export type LastRun = Pick<RunRow, 'run_id' | 'trigger' | 'started_at' | 'result' | 'clients' | 'error'> & {
  finished_at: string;
};

/** The import pipeline's reads, on either driver (store-pg.ts on PostgreSQL). */
export interface ImportReads {
  readonly clients: ClientStateReads;
  hasBatch(runId: string): Async<boolean>;
  lastRun(): Async<LastRun | undefined>;
  listRuns(limit: number): Async<RunRow[]>;
  versionOf(keyName: string, clientId: number): Async<number | null>;
  clientOf(xmlId: string): Async<{ key_name: string; client_id: number } | undefined>;
  exportState(): Async<Record<string, { status: ClientStatus; last_batch: string | null }>>;
}

export type { ClientStatus, StateRow, StateFilter } from '../client-state.js';
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

export interface BatchItem {
  xmlId: string;
  keyName: string;
  clientId: number;
  /** the client's xml_version when its file was claimed (null: no state row) */
  version: number | null;
}

export class ImportStore implements ImportReads {
  private readonly s;
  /** the clients' import state (its owner) */
  readonly clients: ClientStateStore;

  constructor(readonly db: DB) {
    this.clients = new ClientStateStore(db);
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
      lastRun: db.prepare(
        "SELECT run_id, trigger, started_at, finished_at, result, clients, error FROM patriot_import_runs WHERE result <> 'running' ORDER BY id DESC LIMIT 1",
      ),
      listRuns: db.prepare(
        `SELECT run_id, trigger, started_at, finished_at, batch_time, result, clients, bytes, rejected, waiting, checked, check_failed, rotated_as, transport, error FROM patriot_import_runs ORDER BY id DESC LIMIT ?`,
      ),
      itemByXmlId: db.prepare(
        `SELECT key_name, client_id FROM patriot_import_items WHERE xml_id = ? ORDER BY rowid DESC LIMIT 1`,
      ),
      insertItem: db.prepare(
        `INSERT OR REPLACE INTO patriot_import_items (run_id, xml_id, key_name, client_id, xml_version) VALUES (?, ?, ?, ?, ?)`,
      ),
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

  /** The last finished run (the health tile). */
  lastRun(): LastRun | undefined {
    return this.s.lastRun.get() as never;
  }

  listRuns(limit: number): RunRow[] {
    return this.s.listRuns.all(limit) as RunRow[];
  }

  versionOf(keyName: string, clientId: number): number | null {
    return this.clients.versionOf(keyName, clientId);
  }

  /** One transaction: batch items recorded, clients marked pending_import with the batch time. */
  recordBatch(runId: string, batch: string, items: BatchItem[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const it of items) {
        this.s.insertItem.run(runId, it.xmlId, it.keyName, it.clientId, it.version);
        this.clients.markPending({ key_name: it.keyName, client_id: it.clientId, batch, now, version: it.version });
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
      for (const c of completed) this.clients.markImported({ ...c, now });
      return failed.map((c) => {
        return { ...c, ...this.clients.markFailed({ ...c, now }) };
      });
    })();
  }

  /** `__id` -> {status, last_batch}, for client_state.json (clients that have been in a batch). */
  exportState(): Record<string, { status: ClientStatus; last_batch: string | null }> {
    return this.clients.exportState();
  }
}
