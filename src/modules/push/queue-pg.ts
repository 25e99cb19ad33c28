/**
 * The rows of the push tables as the PostgreSQL writes (writes-pg.ts) change them, and the two
 * mechanisms that let several replicas share the queue: `lock` (a device's push_queue row, locked in
 * device id order and its version bumped) and `Changes` (the NOTIFY on `push_queue` that the
 * replicas' indexes follow, queue-feed-pg.ts).
 */
import type pg from 'pg';
import type { CommandRow, Delivery, Finished } from './rows.js';
import type { Status } from './schemas.js';
import { q } from './store-pg.js';

export type C = pg.ClientBase;
export const iso = (ms: number) => new Date(ms).toISOString();
export const CHANNEL = 'push_queue';
/** PostgreSQL's NOTIFY payload limit is 8000 bytes; device ids and uuids are ASCII */
const MAX_PAYLOAD = 7000;

export async function one<R extends pg.QueryResultRow>(c: C, sql: string, values: unknown[]): Promise<R | undefined> {
  return (await q<R>(c, sql, values)).rows[0];
}

export const bySeq = (c: C, seq: number) => one<CommandRow>(c, 'SELECT * FROM push_commands WHERE seq = $1', [seq]);
export const byId = (c: C, id: string) => one<CommandRow>(c, 'SELECT * FROM push_commands WHERE id = $1', [id]);
export const inFlightOf = (c: C, deviceId: string) =>
  one<CommandRow>(c, "SELECT * FROM push_commands WHERE device_id = $1 AND status = 'delivered' ORDER BY seq LIMIT 1", [
    deviceId,
  ]);

/** What a transaction changed: the devices' new queue versions and the commands it finished. */
export class Changes {
  readonly versions = new Map<string, number>();
  readonly finished: Finished[] = [];

  /** Sends the NOTIFYs (inside the transaction: delivered on COMMIT, dropped on ROLLBACK). */
  async notify(c: C): Promise<void> {
    if (this.versions.size === 0 && this.finished.length === 0) return;
    const payloads: string[] = [];
    let d: Array<[string, number]> = [];
    let f: string[] = [];
    let size = 0;
    const cut = () => {
      payloads.push(JSON.stringify({ d, f }));
      d = [];
      f = [];
      size = 0;
    };
    for (const e of this.versions) {
      if (size > MAX_PAYLOAD) cut();
      d.push(e);
      size += e[0].length + 24;
    }
    for (const x of this.finished) {
      if (size > MAX_PAYLOAD) cut();
      f.push(x.id);
      size += x.id.length + 3;
    }
    if (d.length || f.length) cut();
    await q(c, 'SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [CHANNEL, payloads]);
  }
}

/**
 * Locks the push_queue rows of `ids` (waiting for other transactions on them), in device id order
 * so that two transactions locking several devices never deadlock, and bumps their versions.
 */
export async function lock(c: C, ids: readonly string[], ch: Changes): Promise<void> {
  if (ids.length === 0) return;
  const sorted = [...new Set(ids)].sort();
  const r = await q<{ device_id: string; version: number }>(
    c,
    `INSERT INTO push_queue (device_id, version) SELECT unnest($1::text[]), 1
       ON CONFLICT (device_id) DO UPDATE SET version = push_queue.version + 1
       RETURNING device_id, version`,
    [sorted],
  );
  for (const row of r.rows) ch.versions.set(row.device_id, row.version);
}

export const event = (c: C, seq: number, at: string, status: string, attempt: number, detail: string | null) =>
  q(c, 'INSERT INTO push_command_events (command_seq, at, status, attempt, detail) VALUES ($1, $2, $3, $4, $5)', [
    seq,
    at,
    status,
    attempt,
    detail,
  ]);

export async function finishRow(cmd: CommandRow, status: Status, reason: string | null, at: string, c: C, ch: Changes) {
  const r = await q(
    c,
    'UPDATE push_commands SET status = $1, reason = $2, finished_at = $3, response = NULL, error = NULL WHERE seq = $4 AND status = $5',
    [status, reason, at, cmd.seq, cmd.status],
  );
  if (r.rowCount !== 1) return;
  await event(c, cmd.seq, at, status, cmd.attempts, reason);
  ch.finished.push({ seq: cmd.seq, id: cmd.id, deviceId: cmd.device_id, status, reason });
}

export async function deliverRow(
  c: C,
  cmd: CommandRow,
  now: number,
  timeoutMs: number,
  deviceUuid: string | undefined,
) {
  const at = iso(now);
  const deadlineMs = now + timeoutMs;
  await q(
    c,
    "UPDATE push_commands SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, deadline_at = $2 WHERE seq = $3",
    [at, iso(deadlineMs), cmd.seq],
  );
  await q(
    c,
    'INSERT INTO push_deliveries (command_seq, device_id, attempt, device_uuid, delivered_at) VALUES ($1, $2, $3, $4, $5)',
    [cmd.seq, cmd.device_id, cmd.attempts + 1, deviceUuid ?? null, at],
  );
  await event(
    c,
    cmd.seq,
    at,
    'delivered',
    cmd.attempts + 1,
    deviceUuid === undefined ? null : `device uuid ${deviceUuid}`,
  );
  const d: Delivery = {
    seq: cmd.seq,
    id: cmd.id,
    payload: cmd.payload,
    attempts: cmd.attempts + 1,
    maxAttempts: cmd.max_attempts,
    deadlineMs,
    expiresMs: cmd.expires_at ? Date.parse(cmd.expires_at) : null,
  };
  return d;
}
