/**
 * The sync module's tables on PostgreSQL (store.driver "postgres"): the same versions, tables and
 * columns as migrations.ts (times stay ISO 8601 text, as on SQLite, so both answer the same strings;
 * names are compared byte-wise, `COLLATE "C"`, as SQLite's BINARY). PostgreSQL only: `sync_payloads`,
 * the payload files fieldhub owns (docs/sync.md "On PostgreSQL").
 */
import type { Migration } from '../../core/db.js';

export const migrationsPg: Migration[] = [
  {
    version: 1,
    name: 'sync tables',
    sql: `
      CREATE TABLE sync_sequences (
        plugin TEXT COLLATE "C" NOT NULL,
        node TEXT COLLATE "C" NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (plugin, node)
      );

      CREATE TABLE sync_received (
        id BIGSERIAL PRIMARY KEY,
        plugin TEXT COLLATE "C" NOT NULL,
        node TEXT COLLATE "C" NOT NULL,
        seq INTEGER NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('post', 'pull')),
        received_at TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        client_file_path TEXT,
        status TEXT NOT NULL CHECK (status IN ('received', 'processed', 'failed', 'lost')),
        error TEXT,
        processed_at TEXT,
        items INTEGER,
        UNIQUE (plugin, node, seq)
      );
      CREATE INDEX sync_received_pending ON sync_received(id) WHERE status = 'received';

      CREATE TABLE sync_devices (
        mac TEXT COLLATE "C" PRIMARY KEY,
        name TEXT,
        vendor TEXT,
        last_ip TEXT,
        present_last_scan INTEGER,
        last_connection TEXT,
        sync_hub_node TEXT COLLATE "C" NOT NULL,
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX sync_devices_node ON sync_devices(sync_hub_node, mac);
      CREATE INDEX sync_devices_updated ON sync_devices(updated_at);

      CREATE TABLE sync_plugin_rows (
        plugin TEXT COLLATE "C" NOT NULL,
        node TEXT COLLATE "C" NOT NULL,
        idx INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (plugin, node, idx)
      );

      -- PostgreSQL only: the payload files (SQLite: log/plugins/<name>), by their NetAlertX file name,
      -- written in the transaction of their sync_received row. A payload received here keeps its
      -- encoded name and data; copied files (migrate-to-postgres) keep theirs (processed_... is decoded).
      CREATE TABLE sync_payloads (
        name TEXT COLLATE "C" PRIMARY KEY,
        id BIGINT NOT NULL REFERENCES sync_received(id) ON DELETE CASCADE,
        data BYTEA NOT NULL
      );
      CREATE INDEX sync_payloads_id ON sync_payloads(id);
    `,
  },
  {
    version: 2,
    name: 'sync served devices version',
    sql: `
      CREATE TABLE sync_devices_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
      INSERT INTO sync_devices_version (id, version) VALUES (1, 0);
      CREATE FUNCTION sync_devices_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN UPDATE sync_devices_version SET version = version + 1 WHERE id = 1; RETURN NULL; END;
      $$;
      CREATE TRIGGER sync_devices_version_bump AFTER INSERT OR UPDATE OR DELETE ON sync_devices
        FOR EACH ROW EXECUTE FUNCTION sync_devices_bump();
    `,
  },
  {
    version: 3,
    name: 'sync notifications read state',
    sql: `
      CREATE TABLE sync_notifications_read (
        id BIGINT PRIMARY KEY REFERENCES notifications(id) ON DELETE CASCADE,
        read_at TEXT NOT NULL
      );
    `,
  },
];
