/** The patriot module's tables. Every row is keyed by (key_name, client_id): keys never share data. */
import type { Migration } from '../../core/db.js';
import { IMPORT_MIGRATION } from './import/migrations.js';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'clients, zones, users, import state',
    sql: `
      CREATE TABLE patriot_clients (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        info TEXT NOT NULL,              -- JSON object, every info field (defaults applied)
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (key_name, client_id)
      ) WITHOUT ROWID;
      CREATE TABLE patriot_zones (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        zone_no INTEGER NOT NULL,
        zone_area TEXT NOT NULL,
        module_no INTEGER NOT NULL,
        PRIMARY KEY (key_name, client_id, zone_no),
        FOREIGN KEY (key_name, client_id) REFERENCES patriot_clients (key_name, client_id) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE patriot_users (
        key_name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        user_no INTEGER NOT NULL,
        data TEXT NOT NULL,              -- JSON object, every user field
        PRIMARY KEY (key_name, client_id, user_no),
        FOREIGN KEY (key_name, client_id) REFERENCES patriot_clients (key_name, client_id) ON DELETE CASCADE
      ) WITHOUT ROWID;
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
    `,
  },
  // the import pipeline's runs and batches (import/migrations.ts)
  { version: 2, ...IMPORT_MIGRATION },
];
