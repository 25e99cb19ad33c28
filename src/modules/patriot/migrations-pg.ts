/**
 * The patriot module's tables on PostgreSQL (store.driver "postgres"): the same versions, tables and
 * columns as migrations.ts (TEXT times as ISO strings, JSON kept as the TEXT the API wrote, so the
 * answers are byte-identical on both drivers), plus what only this driver has:
 *
 * - `patriot_client_xml`: the per-client XML files fieldhub owns (`<xmlDir>/<key>/<id>.xml` on SQLite),
 *   written in the transaction of the client's change; a row exists while the file would exist (it is
 *   deleted in the transaction that records the batch that uploaded it). `queued` orders the import
 *   oldest first (kept when the XML is rewritten, as a file keeps its place in the SQLite scan);
 *   `claimed_by` is the import run that holds it (cleared by a rewrite of the API, as a newer file);
 *   `xml_version` is the state row's version the text was rendered at (read by the claim with the text).
 * - `patriot_import_items.seq`: the insertion order SQLite reads from rowid (the client's latest item).
 */
import type { Migration } from '../../core/db.js';

export const migrationsPg: readonly Migration[] = [
  {
    version: 1,
    name: 'clients, zones, users, import state, client XML',
    sql: `
      CREATE TABLE patriot_clients (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        info TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (key_name, client_id)
      );
      CREATE TABLE patriot_zones (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        zone_no INTEGER NOT NULL,
        zone_area TEXT NOT NULL,
        module_no INTEGER NOT NULL,
        PRIMARY KEY (key_name, client_id, zone_no),
        FOREIGN KEY (key_name, client_id) REFERENCES patriot_clients (key_name, client_id) ON DELETE CASCADE
      );
      CREATE TABLE patriot_users (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        user_no INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (key_name, client_id, user_no),
        FOREIGN KEY (key_name, client_id) REFERENCES patriot_clients (key_name, client_id) ON DELETE CASCADE
      );
      CREATE TABLE patriot_client_state (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        status TEXT NOT NULL,
        last_batch TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        xml_version INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (key_name, client_id)
      );
      CREATE TABLE patriot_client_xml (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        xml TEXT NOT NULL,
        xml_version INTEGER,
        updated_at TEXT NOT NULL,
        queued BIGSERIAL NOT NULL,
        claimed_by TEXT,
        PRIMARY KEY (key_name, client_id)
      );
      CREATE INDEX patriot_client_xml_queue ON patriot_client_xml (queued) WHERE claimed_by IS NULL;
      CREATE INDEX patriot_client_xml_claimed ON patriot_client_xml (claimed_by) WHERE claimed_by IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'import runs and batches',
    sql: `
      CREATE TABLE patriot_import_runs (
        id BIGSERIAL PRIMARY KEY,
        run_id TEXT NOT NULL UNIQUE,
        trigger TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        batch_time TEXT NOT NULL,
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
        seq BIGSERIAL NOT NULL,
        PRIMARY KEY (run_id, xml_id)
      );
      CREATE INDEX patriot_import_items_xml_id ON patriot_import_items (xml_id, seq);
      CREATE INDEX patriot_import_items_client ON patriot_import_items (key_name, client_id, seq);
      CREATE INDEX patriot_client_state_status ON patriot_client_state (status, key_name, client_id);
    `,
  },
];
