/**
 * The push module's tables on PostgreSQL (store.driver "postgres"): the same versions, tables and
 * columns as migrations.ts (times stay ISO-8601 UTC text, so rows copy as they are and compare as in
 * SQLite), plus one PostgreSQL-only table, push_queue: a row per device that has had a command, the
 * lock every state change of that device's queue takes (the poll's delivery with SKIP LOCKED) and a
 * version the replicas' in-memory indexes order their updates by (docs/push.md, "Several replicas").
 */
import type { Migration } from '../../core/db.js';

export const migrationsPg: readonly Migration[] = [
  {
    version: 1,
    name: 'push queue',
    sql: `
      CREATE TABLE push_devices (
        device_id TEXT PRIMARY KEY,
        registered_at TEXT NOT NULL,
        registered_by TEXT NOT NULL CHECK (registered_by IN ('poll', 'operator')),
        last_seen_at TEXT,
        last_address TEXT
      );

      CREATE TABLE push_commands (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        device_id TEXT NOT NULL REFERENCES push_devices(device_id),
        verb TEXT,
        endpoint TEXT NOT NULL,
        body TEXT,
        content_type TEXT,
        query_string TEXT,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'done', 'failed', 'expired', 'cancelled')),
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        expires_at TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT,
        deadline_at TEXT,
        finished_at TEXT,
        response TEXT,
        error TEXT
      );
      CREATE INDEX push_commands_queue ON push_commands(device_id, status, seq);
      CREATE INDEX push_commands_expiring ON push_commands(expires_at) WHERE status = 'queued' AND expires_at IS NOT NULL;

      CREATE TABLE push_command_events (
        id BIGSERIAL PRIMARY KEY,
        command_seq BIGINT NOT NULL REFERENCES push_commands(seq),
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        detail TEXT
      );
      CREATE INDEX push_command_events_command ON push_command_events(command_seq, id);

      CREATE TABLE push_unmatched_results (
        id BIGSERIAL PRIMARY KEY,
        device_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        command_id TEXT,
        reason TEXT NOT NULL,
        body TEXT NOT NULL
      );

      -- PostgreSQL only: the per-device lock and version of the queue state (see the file comment)
      CREATE TABLE push_queue (
        device_id TEXT PRIMARY KEY,
        version BIGINT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'device uuid bindings, result encodings and endpoints, body encoding',
    sql: `
      CREATE TABLE push_deliveries (
        id BIGSERIAL PRIMARY KEY,
        command_seq BIGINT NOT NULL REFERENCES push_commands(seq),
        device_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        device_uuid TEXT,
        delivered_at TEXT NOT NULL
      );
      CREATE INDEX push_deliveries_uuid ON push_deliveries(device_id, device_uuid) WHERE device_uuid IS NOT NULL;
      CREATE INDEX push_deliveries_command ON push_deliveries(command_seq, attempt);

      ALTER TABLE push_commands ADD COLUMN body_encoding TEXT;
      ALTER TABLE push_commands ADD COLUMN response_encoding TEXT;
      ALTER TABLE push_commands ADD COLUMN error_encoding TEXT;
      ALTER TABLE push_commands ADD COLUMN result_endpoint TEXT;
      ALTER TABLE push_commands ADD COLUMN result_uuid TEXT;

      ALTER TABLE push_unmatched_results ADD COLUMN endpoint TEXT;
    `,
  },
];
