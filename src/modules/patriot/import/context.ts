/** Types and names shared by the parts of an import run. */
import path from 'node:path';
import type { Config } from '../../../core/config.js';
import type { DB } from '../../../core/db.js';
import type { Metrics } from '../../../core/metrics.js';
import type { PgStore } from '../../../core/pg.js';
import type { Claim } from './claims.js';
import { batchTime, type TextLog } from './logs.js';
import type { ImportReads, RunRow } from './store.js';
import type { RunWrite } from '../writes.js';
import type { ScanCache } from './claims.js';

export const REMOTE_XML = 'clients.xml';
export const REMOTE_RESULTS = 'clients_Import_Results.txt';
export const READY_FILE = path.join('ready_for_import', 'clients.xml');
export const WORK_DIR = 'patriot-import';
export const FETCHED_XML = path.join(WORK_DIR, 'remote_clients.xml');
export const FETCHED_RESULTS = path.join(WORK_DIR, 'remote_Import_Results.txt');

export interface ImportLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ImportDeps {
  config: Config;
  /** the SQLite store (store.driver "sqlite") */
  db?: DB;
  /** the PostgreSQL store (store.driver "postgres"): the XML hand-over and the runs in the database */
  pg?: PgStore | null;
  notify: (level: 'info' | 'alert', text: string) => void;
  log: ImportLog;
  metrics?: Metrics;
  /** rewrites one client's XML from the store (the API's writer); false when the client no longer exists */
  regenerate?: (keyName: string, clientId: number) => Promise<boolean> | boolean;
  /** the module's write ops (writes.ts / writes-pg.ts): the app's writer; without it, on `db` or `pg` one by one */
  write?: RunWrite;
  /** maps an `__id` (client id + key port) to its client, for ids no batch of ours recorded */
  resolveId?: (xmlId: string) => { key_name: string; client_id: number } | undefined;
}

/** What the importer needs from the API: regeneration of a failed client, and `__id` -> client. */
export type ImportHooks = Pick<ImportDeps, 'regenerate' | 'resolveId' | 'write'>;

export type Trigger = 'schedule' | 'admin' | 'cli';

export interface RunReport extends RunRow {
  recovered: number;
  rejected_files: string[];
  failed_ids: string[];
  gave_up_ids: string[];
}

export interface Row {
  id: string;
  xml: string;
  claim: Claim;
}

export function importMetrics(m: Metrics | undefined) {
  if (!m) return undefined;
  return {
    runs: m.counter('fieldhub_patriot_import_runs_total', 'Patriot import runs by result', ['result'] as const),
    clients: m.counter('fieldhub_patriot_import_clients_total', 'Clients uploaded to Patriot in a clients.xml'),
    rejected: m.counter(
      'fieldhub_patriot_import_rejected_files_total',
      'Per-client XML files rejected (not parseable)',
    ),
    failed: m.counter(
      'fieldhub_patriot_import_failed_clients_total',
      'Clients Patriot did not confirm in its results file',
    ),
    lastOk: m.gauge('fieldhub_patriot_import_last_success_timestamp_seconds', 'Time of the last successful import run'),
  };
}

export type ImportMetrics = NonNullable<ReturnType<typeof importMetrics>>;

/** What the parts of a run share: config, store, logs, metrics, the API's hooks. */
export interface RunContext {
  config: Config;
  store: ImportReads;
  /** the module's write ops (deps.write, or on deps.db) */
  write: RunWrite;
  deps: ImportDeps;
  combineLog: TextLog;
  errorLog: TextLog;
  metrics?: ImportMetrics;
  /** a path under the data dir */
  local(rel: string): string;
  /** what the scans of this service's runs have seen of the per-client files (claims.ts) */
  scanCache?: ScanCache;
}

/** The report of a run that starts now (result 'running', nothing counted yet). */
export function newReport(runId: string, trigger: Trigger, now: Date, transport: string): RunReport {
  return {
    run_id: runId,
    trigger,
    started_at: now.toISOString(),
    finished_at: null,
    batch_time: batchTime(now),
    result: 'running',
    clients: 0,
    bytes: 0,
    rejected: 0,
    waiting: 0,
    checked: 0,
    check_failed: 0,
    rotated_as: null,
    transport,
    error: null,
    recovered: 0,
    rejected_files: [],
    failed_ids: [],
    gave_up_ids: [],
  };
}
