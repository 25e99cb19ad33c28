/** The SQL of the push tables (push_devices, push_commands and their events, deliveries, unmatched results), prepared once. */
import type { DB } from '../../core/db.js';

export function pushStatements(db: DB) {
  const p = (sql: string) => db.prepare(sql);
  return {
    device: p('SELECT * FROM push_devices WHERE device_id = ?'),
    devices: p('SELECT * FROM push_devices'),
    registerDevice: p(
      'INSERT INTO push_devices (device_id, registered_at, registered_by) VALUES (?, ?, ?) ON CONFLICT(device_id) DO NOTHING',
    ),
    touchDevice: p(
      `INSERT INTO push_devices (device_id, registered_at, registered_by, last_seen_at, last_address) VALUES (?, ?, 'poll', ?, ?)
         ON CONFLICT(device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_address = excluded.last_address`,
    ),
    insert: p(
      `INSERT INTO push_commands (id, device_id, verb, endpoint, body, content_type, query_string, payload, status, max_attempts, expires_at, created_at, body_encoding)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
    ),
    event: p('INSERT INTO push_command_events (command_seq, at, status, attempt, detail) VALUES (?, ?, ?, ?, ?)'),
    events: p('SELECT at, status, attempt, detail FROM push_command_events WHERE command_seq = ? ORDER BY id'),
    byId: p('SELECT * FROM push_commands WHERE id = ?'),
    bySeq: p('SELECT * FROM push_commands WHERE seq = ?'),
    inFlight: p("SELECT * FROM push_commands WHERE device_id = ? AND status = 'delivered' ORDER BY seq LIMIT 1"),
    nextQueued: p("SELECT * FROM push_commands WHERE device_id = ? AND status = 'queued' ORDER BY seq LIMIT 1"),
    deliver: p(
      "UPDATE push_commands SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, deadline_at = ? WHERE seq = ?",
    ),
    finish: p(
      'UPDATE push_commands SET status = ?, reason = ?, finished_at = ?, response = ?, error = ? WHERE seq = ? AND status = ?',
    ),
    finishResult: p(
      `UPDATE push_commands SET status = ?, reason = ?, finished_at = ?, response = ?, response_encoding = ?, error = ?, error_encoding = ?,
         result_endpoint = ?, result_uuid = ? WHERE seq = ? AND status = 'delivered'`,
    ),
    unmatched: p(
      'INSERT INTO push_unmatched_results (device_id, received_at, command_id, reason, body, endpoint) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    addDelivery: p(
      'INSERT INTO push_deliveries (command_seq, device_id, attempt, device_uuid, delivered_at) VALUES (?, ?, ?, ?, ?)',
    ),
    deliveryByUuid: p(
      'SELECT command_seq FROM push_deliveries WHERE device_id = ? AND device_uuid = ? ORDER BY id DESC LIMIT 1',
    ).pluck(),
    lastDelivery: p('SELECT * FROM push_deliveries WHERE command_seq = ? ORDER BY id DESC LIMIT 1'),
    deliveries: p('SELECT * FROM push_deliveries WHERE command_seq = ? ORDER BY id'),
    queuedCounts: p("SELECT device_id, COUNT(*) AS n FROM push_commands WHERE status = 'queued' GROUP BY device_id"),
    allInFlight: p("SELECT * FROM push_commands WHERE status = 'delivered' ORDER BY seq"),
    expiredQueued: p(
      "SELECT seq, id, device_id FROM push_commands WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?",
    ),
    anyExpiredQueued: p(
      "SELECT 1 FROM push_commands WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= ? LIMIT 1",
    ).pluck(),
    list: p(
      'SELECT * FROM push_commands WHERE device_id = ? AND (? IS NULL OR status = ?) ORDER BY seq LIMIT ? OFFSET ?',
    ),
    maxSeq: p('SELECT MAX(seq) FROM push_commands').pluck(),
    failedSince: p(
      "SELECT COUNT(*) FROM push_commands WHERE status IN ('failed', 'expired') AND finished_at >= ?",
    ).pluck(),
  };
}
