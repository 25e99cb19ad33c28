/**
 * Tables of the import pipeline (patriot migration 2+). `patriot_client_state` itself belongs to
 * the API's migration 1; the pipeline only updates status / last_batch / attempts in it.
 */
import type { Migration } from '../../../core/db.js';

export const IMPORT_MIGRATION: Omit<Migration, 'version'> = {
  name: 'import runs and batches',
  sql: `
    CREATE TABLE patriot_import_runs (
      id INTEGER PRIMARY KEY,
      run_id TEXT NOT NULL UNIQUE,
      trigger TEXT NOT NULL,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      batch_time TEXT NOT NULL,
      -- 'running' | 'ok' | 'empty' | 'local' | 'failed'
      result TEXT NOT NULL,
      clients INTEGER NOT NULL DEFAULT 0,
      bytes INTEGER NOT NULL DEFAULT 0,
      rejected INTEGER NOT NULL DEFAULT 0,
      waiting INTEGER NOT NULL DEFAULT 0,
      checked INTEGER NOT NULL DEFAULT 0,
      check_failed INTEGER NOT NULL DEFAULT 0,
      rotated_as TEXT,
      transport TEXT NOT NULL,
      error TEXT
    );
    CREATE TABLE patriot_import_items (
      run_id TEXT NOT NULL,
      xml_id TEXT NOT NULL,
      key_name TEXT NOT NULL,
      client_id INTEGER NOT NULL,
      xml_version INTEGER,
      PRIMARY KEY (run_id, xml_id)
    );
    CREATE INDEX patriot_import_items_xml_id ON patriot_import_items(xml_id, run_id);
    CREATE INDEX patriot_import_items_client ON patriot_import_items(key_name, client_id, run_id);
    CREATE INDEX patriot_client_state_status ON patriot_client_state(status, key_name, client_id);
  `,
};
