/** Row shapes of the push tables, the outcomes of store calls, and the operator view of a command. */
import { decodeText, type TextEncoding } from './command.js';
import type { Status } from './schemas.js';

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
  body_encoding: 'string' | 'object' | null;
  response_encoding: TextEncoding | null;
  error_encoding: TextEncoding | null;
  result_endpoint: string | null;
  result_uuid: string | null;
}

/** One delivery of a command, with the uuid the device sent on that poll. */
export interface DeliveryRow {
  command_seq: number;
  attempt: number;
  device_uuid: string | null;
  delivered_at: string;
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
  { matched: true; finished: Finished } | { matched: false; reason: string; commandId: string | null };

/**
 * The operator view of a command. `response`/`error` are the parsed JSON when the device's text is
 * JSON (also when it came as a JSON-encoded string), else the text; `responseRaw`/`errorRaw` the text
 * as stored. Rows from before migration 2 have no encodings: responses were JSON text, errors strings.
 */
export function commandView(c: CommandRow, history?: EventRow[], deliveries?: DeliveryRow[]) {
  const json = (t: string | null) => (t === null ? undefined : (JSON.parse(t) as unknown));
  const done = c.status === 'done';
  return {
    id: c.id,
    deviceId: c.device_id,
    status: c.status,
    reason: c.reason ?? undefined,
    verb: c.verb ?? undefined,
    endpoint: c.endpoint,
    body: json(c.body),
    bodyEncoding: c.body_encoding ?? 'object',
    contentType: c.content_type ?? undefined,
    queryString: c.query_string ?? undefined,
    attempts: c.attempts,
    maxAttempts: c.max_attempts,
    expiresAt: c.expires_at ?? undefined,
    createdAt: c.created_at,
    deliveredAt: c.delivered_at ?? undefined,
    deadlineAt: c.status === 'delivered' ? (c.deadline_at ?? undefined) : undefined,
    finishedAt: c.finished_at ?? undefined,
    response: done ? (c.response === null ? null : decodeText(c.response, c.response_encoding ?? 'json')) : undefined,
    responseRaw: done ? (c.response ?? undefined) : undefined,
    responseEncoding: done && c.response !== null ? (c.response_encoding ?? 'json') : undefined,
    error: c.error === null ? undefined : decodeText(c.error, c.error_encoding ?? 'string'),
    errorRaw: c.error ?? undefined,
    resultEndpoint: c.result_endpoint ?? undefined,
    resultUuid: c.result_uuid ?? undefined,
    ...(history
      ? {
          history: history.map((e) => ({
            status: e.status,
            at: e.at,
            attempt: e.attempt,
            detail: e.detail ?? undefined,
          })),
        }
      : {}),
    ...(deliveries
      ? {
          deliveries: deliveries.map((d) => ({
            attempt: d.attempt,
            at: d.delivered_at,
            deviceUuid: d.device_uuid ?? undefined,
          })),
        }
      : {}),
  };
}
