/** Row shapes of the push tables, the outcomes of store calls, and the operator view of a command. */
import type { Status } from './command.js';

export interface CommandRow {
  seq: number;
  id: string;
  device_id: string;
  verb: string | null;
  endpoint: string;
  body: string | null;
  content_type: string | null;
  query_string: string | null;
  payload: string;
  status: Status;
  reason: string | null;
  attempts: number;
  max_attempts: number;
  expires_at: string | null;
  created_at: string;
  delivered_at: string | null;
  deadline_at: string | null;
  finished_at: string | null;
  response: string | null;
  error: string | null;
}

export interface DeviceRow {
  device_id: string;
  registered_at: string;
  registered_by: 'poll' | 'operator';
  last_seen_at: string | null;
  last_address: string | null;
}

export interface EventRow {
  at: string;
  status: string;
  attempt: number;
  detail: string | null;
}

/** A command that reached a final state inside a store call (for events and metrics). */
export interface Finished {
  seq: number;
  id: string;
  deviceId: string;
  status: Status;
  reason: string | null;
}

export interface Delivery {
  seq: number;
  id: string;
  payload: string;
  attempts: number;
  maxAttempts: number;
  deadlineMs: number;
  expiresMs: number | null;
}

export interface DeliverOutcome {
  /** the command to send now, if any */
  delivery?: Delivery;
  /** the in-flight command is still within its result timeout: answer empty */
  waiting?: boolean;
  /** queued commands taken off the queue (delivered or expired) */
  dequeued: number;
  finished: Finished[];
}

export type ResultOutcome =
  | { matched: true; finished: Finished }
  | { matched: false; reason: string; commandId: string | null };

/** The operator view of a command. */
export function commandView(c: CommandRow, history?: EventRow[]) {
  const json = (t: string | null) => (t === null ? undefined : (JSON.parse(t) as unknown));
  return {
    id: c.id,
    deviceId: c.device_id,
    status: c.status,
    reason: c.reason ?? undefined,
    verb: c.verb ?? undefined,
    endpoint: c.endpoint,
    body: json(c.body),
    contentType: c.content_type ?? undefined,
    queryString: c.query_string ?? undefined,
    attempts: c.attempts,
    maxAttempts: c.max_attempts,
    expiresAt: c.expires_at ?? undefined,
    createdAt: c.created_at,
    deliveredAt: c.delivered_at ?? undefined,
    deadlineAt: c.status === 'delivered' ? (c.deadline_at ?? undefined) : undefined,
    finishedAt: c.finished_at ?? undefined,
    response: c.status === 'done' ? (json(c.response) ?? null) : undefined,
    error: c.error ?? undefined,
    ...(history ? { history: history.map((e) => ({ status: e.status, at: e.at, attempt: e.attempt, detail: e.detail ?? undefined })) } : {}),
  };
}
