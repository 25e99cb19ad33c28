/** The push module's tables. Times are ISO-8601 UTC strings (sortable as text). */
import type { Migration } from '../../core/db.js';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'push queue',
    sql: `
      CREATE TABLE push_devices (
        device_id TEXT PRIMARY KEY,          -- int64 as a canonical decimal string, never a float
        registered_at TEXT NOT NULL,
        registered_by TEXT NOT NULL CHECK (registered_by IN ('poll', 'operator')),
        last_seen_at TEXT,
        last_address TEXT
      ) WITHOUT ROWID;

      CREATE TABLE push_commands (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, -- FIFO order
        id TEXT NOT NULL UNIQUE,               -- uuid, sent to the device as "uuid"
        device_id TEXT NOT NULL REFERENCES push_devices(device_id),
        verb TEXT,
        endpoint TEXT NOT NULL,
        body TEXT,                             -- JSON text of the operator's body value
        content_type TEXT,
        query_string TEXT,
        payload TEXT NOT NULL,                 -- the exact GET /push answer
        status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'done', 'failed', 'expired', 'cancelled')),
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        expires_at TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT,
        deadline_at TEXT,
        finished_at TEXT,
        response TEXT,                         -- JSON text of the device's "response"
        error TEXT
      );
      CREATE INDEX push_commands_queue ON push_commands(device_id, status, seq);
      CREATE INDEX push_commands_expiring ON push_commands(expires_at) WHERE status = 'queued' AND expires_at IS NOT NULL;

      CREATE TABLE push_command_events (
        id INTEGER PRIMARY KEY,
        command_seq INTEGER NOT NULL REFERENCES push_commands(seq),
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        detail TEXT
      );
      CREATE INDEX push_command_events_command ON push_command_events(command_seq, id);

      CREATE TABLE push_unmatched_results (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        command_id TEXT,
        reason TEXT NOT NULL,
        body TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'device uuid bindings, result encodings and endpoints, body encoding',
    sql: `
      -- one row per delivery: the uuid the device sent on the GET /push that got the command
      CREATE TABLE push_deliveries (
        id INTEGER PRIMARY KEY,
        command_seq INTEGER NOT NULL REFERENCES push_commands(seq),
        device_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        device_uuid TEXT,                    -- NULL: the poll carried no uuid
        delivered_at TEXT NOT NULL
      );
      CREATE INDEX push_deliveries_uuid ON push_deliveries(device_id, device_uuid) WHERE device_uuid IS NOT NULL;
      CREATE INDEX push_deliveries_command ON push_deliveries(command_seq, attempt);

      ALTER TABLE push_commands ADD COLUMN body_encoding TEXT;      -- 'string' | 'object' (NULL before v2: object)
      ALTER TABLE push_commands ADD COLUMN response_encoding TEXT;  -- 'string': response holds the text as sent; else JSON text
      ALTER TABLE push_commands ADD COLUMN error_encoding TEXT;     -- same for error
      ALTER TABLE push_commands ADD COLUMN result_endpoint TEXT;    -- the endpoint the device reported on /result
      ALTER TABLE push_commands ADD COLUMN result_uuid TEXT;        -- the uuid the device sent with the stored result

      ALTER TABLE push_unmatched_results ADD COLUMN endpoint TEXT;
    `,
  },
];
