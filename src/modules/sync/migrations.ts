/** The sync module's tables (see docs/sync.md). */
import type { Migration } from '../../core/db.js';

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'sync tables',
    sql: `
      -- last sequence number per (plugin, node): never decreases, never reused
      CREATE TABLE sync_sequences (
        plugin TEXT NOT NULL,
        node TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (plugin, node)
      ) WITHOUT ROWID;

      -- one row per payload received (POST /sync) or pulled (GET <node>/sync)
      CREATE TABLE sync_received (
        id INTEGER PRIMARY KEY,
        plugin TEXT NOT NULL,
        node TEXT NOT NULL,
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

      -- the devices table (NetAlertX Devices): a few columns the hub maintains, the rest as received
      CREATE TABLE sync_devices (
        mac TEXT PRIMARY KEY,
        name TEXT,
        vendor TEXT,
        last_ip TEXT,
        present_last_scan INTEGER,
        last_connection TEXT,
        sync_hub_node TEXT NOT NULL,
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX sync_devices_node ON sync_devices(sync_hub_node, mac);
      CREATE INDEX sync_devices_updated ON sync_devices(updated_at);

      -- rows of plugins other than SYNC: the latest payload per (plugin, node)
      CREATE TABLE sync_plugin_rows (
        plugin TEXT NOT NULL,
        node TEXT NOT NULL,
        idx INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (plugin, node, idx)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'sync served devices version',
    sql: `
      -- bumped by every change of sync_devices (by any writer): GET /sync rebuilds its answer when it moved
      CREATE TABLE sync_devices_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
      INSERT INTO sync_devices_version (id, version) VALUES (1, 0);
      CREATE TRIGGER sync_devices_version_ins AFTER INSERT ON sync_devices
        BEGIN UPDATE sync_devices_version SET version = version + 1 WHERE id = 1; END;
      CREATE TRIGGER sync_devices_version_upd AFTER UPDATE ON sync_devices
        BEGIN UPDATE sync_devices_version SET version = version + 1 WHERE id = 1; END;
      CREATE TRIGGER sync_devices_version_del AFTER DELETE ON sync_devices
        BEGIN UPDATE sync_devices_version SET version = version + 1 WHERE id = 1; END;
    `,
  },
  {
    version: 3,
    name: 'sync notifications read state',
    sql: `
      -- the sync notifications an operator marked read (core's notifications table stays core's)
      CREATE TABLE sync_notifications_read (
        id INTEGER PRIMARY KEY REFERENCES notifications(id) ON DELETE CASCADE,
        read_at TEXT NOT NULL
      );
    `,
  },
];
