/**
 * The push module's writes on PostgreSQL (store.driver "postgres", core PgWriter): the ops of
 * writes.ts with the same names, arguments and results, each in its own transaction, answered after
 * COMMIT. Several replicas share the database, so:
 *
 * - every change of a device's queue first locks its push_queue row and bumps its version; the
 *   poll's delivery takes that lock with SKIP LOCKED (a concurrent poll of the same device, on any
 *   replica, answers empty instead of waiting), so one command is in flight per device;
 * - every change NOTIFYs `push_queue` in its transaction with the devices' new versions and the
 *   commands it finished ({"d": [[deviceId, version], ...], "f": [commandId, ...]}, split to stay
 *   under PostgreSQL's payload limit): each replica's index re-reads those devices (queue-feed-pg.ts);
 * - a result is matched in the database (matching.ts on rows read in the transaction), so it
 *   completes the command whichever replica delivered it.
 */
import { randomUUID } from 'node:crypto';
import type { PgWrites } from '../../core/pg.js';
import { pushPayload } from './command.js';
import { matchResult } from './matching.js';
import type { CommandRow, DeliverOutcome, DeliveryRow, Finished, ResultOutcome } from './rows.js';
import type { Status } from './schemas.js';
import { q } from './store-pg.js';
import { UnknownDeviceError, type QueueSnapshot } from './store.js';
import type { PushWrites } from './writes.js';

import { byId, bySeq, Changes, deliverRow, event, finishRow, inFlightOf, iso, lock, one, type C } from './queue-pg.js';

type Args<K extends keyof PushWrites> = PushWrites[K]['args'];

async function enqueue(c: C, a: Args<'push.enqueue'>): Promise<CommandRow[]> {
  const { deviceIds, spec, opts } = a;
  const at = iso(opts.now);
  const encoding = spec.bodyEncoding ?? opts.bodyEncoding;
  const unique = [...new Set(deviceIds)].sort();
  if (opts.register) {
    await q(
      c,
      "INSERT INTO push_devices (device_id, registered_at, registered_by) SELECT unnest($1::text[]), $2, 'operator' ON CONFLICT (device_id) DO NOTHING",
      [unique, at],
    );
  } else {
    const known = new Set(
      (
        await q<{ device_id: string }>(c, 'SELECT device_id FROM push_devices WHERE device_id = ANY($1::text[])', [
          unique,
        ])
      ).rows.map((r) => r.device_id),
    );
    const missing = deviceIds.find((id) => !known.has(id));
    if (missing !== undefined) throw new UnknownDeviceError(missing);
  }
  const ch = new Changes();
  await lock(c, unique, ch);
  const ids = deviceIds.map(() => randomUUID());
  const r = await q<CommandRow>(
    c,
    `INSERT INTO push_commands (id, device_id, verb, endpoint, body, content_type, query_string, payload, status,
                                max_attempts, expires_at, created_at, body_encoding)
     SELECT u.id, u.device_id, $3, $4, $5, $6, $7, u.payload, 'queued', $8::int, $9, $10, $11
       FROM unnest($1::text[], $2::text[], $12::text[]) WITH ORDINALITY AS u(id, device_id, payload, n)
      ORDER BY u.n
     RETURNING *`,
    [
      ids,
      deviceIds,
      spec.verb ?? null,
      spec.endpoint,
      spec.body === undefined ? null : JSON.stringify(spec.body),
      spec.contentType ?? null,
      spec.queryString ?? null,
      spec.maxAttempts ?? opts.defaultMaxAttempts,
      spec.expiresAt === undefined ? null : new Date(spec.expiresAt).toISOString(),
      at,
      encoding,
      ids.map((id) => pushPayload(id, spec, encoding)),
    ],
  );
  const byIdRow = new Map(r.rows.map((row) => [row.id, row]));
  const rows = ids.map((id) => byIdRow.get(id)!);
  await q(
    c,
    "INSERT INTO push_command_events (command_seq, at, status, attempt, detail) SELECT unnest($1::bigint[]), $2, 'queued', 0, NULL",
    [rows.map((row) => row.seq), at],
  );
  await ch.notify(c);
  return rows;
}

async function deliver(c: C, a: Args<'push.deliver'>): Promise<DeliverOutcome> {
  const { deviceId, now, timeoutMs, deviceUuid } = a;
  // one delivery per device at a time across replicas: a poll that finds the device locked answers empty
  const locked =
    (await one(c, 'SELECT version FROM push_queue WHERE device_id = $1 FOR UPDATE SKIP LOCKED', [deviceId])) ??
    // no row yet (rows copied from SQLite): the first to insert it holds it; a concurrent one gets nothing
    (await one(
      c,
      'INSERT INTO push_queue (device_id, version) VALUES ($1, 0) ON CONFLICT (device_id) DO NOTHING RETURNING version',
      [deviceId],
    ));
  const finished: Finished[] = [];
  if (!locked) return { waiting: true, dequeued: 0, finished };
  const at = iso(now);
  const ch = new Changes();
  const done = async (out: DeliverOutcome): Promise<DeliverOutcome> => {
    if (out.delivery || ch.finished.length) {
      const v = await one<{ version: number }>(
        c,
        'UPDATE push_queue SET version = version + 1 WHERE device_id = $1 RETURNING version',
        [deviceId],
      );
      ch.versions.set(deviceId, v!.version);
      await ch.notify(c);
    }
    return { ...out, finished: ch.finished };
  };
  const cur = await inFlightOf(c, deviceId);
  if (cur) {
    if (cur.deadline_at !== null && cur.deadline_at > at) return { waiting: true, dequeued: 0, finished };
    if (cur.expires_at !== null && cur.expires_at <= at) await finishRow(cur, 'expired', 'expired', at, c, ch);
    else if (cur.attempts < cur.max_attempts)
      return done({ delivery: await deliverRow(c, cur, now, timeoutMs, deviceUuid), dequeued: 0, finished });
    else await finishRow(cur, 'failed', 'timeout', at, c, ch);
  }
  let dequeued = 0;
  for (;;) {
    const next = await one<CommandRow>(
      c,
      "SELECT * FROM push_commands WHERE device_id = $1 AND status = 'queued' ORDER BY seq LIMIT 1",
      [deviceId],
    );
    if (!next) return done({ dequeued, finished });
    dequeued++;
    if (next.expires_at !== null && next.expires_at <= at) {
      await finishRow(next, 'expired', 'expired', at, c, ch);
      continue;
    }
    return done({ delivery: await deliverRow(c, next, now, timeoutMs, deviceUuid), dequeued, finished });
  }
}

async function result(c: C, a: Args<'push.result'>): Promise<ResultOutcome> {
  const { deviceId, parsed: r, q: query, raw, now } = a;
  const { uuid, endpoint } = query;
  const at = iso(now);
  const ch = new Changes();
  await lock(c, [deviceId], ch);
  // the rows matching may look at, read under the device's lock
  const cmdById = uuid === undefined ? undefined : await byId(c, uuid);
  const boundSeq =
    uuid === undefined
      ? undefined
      : (
          await one<{ command_seq: number }>(
            c,
            'SELECT command_seq FROM push_deliveries WHERE device_id = $1 AND device_uuid = $2 ORDER BY id DESC LIMIT 1',
            [deviceId, uuid],
          )
        )?.command_seq;
  const bound = boundSeq === undefined ? undefined : await bySeq(c, boundSeq);
  const cur = await inFlightOf(c, deviceId);
  const last =
    cur &&
    (await one<DeliveryRow>(c, 'SELECT * FROM push_deliveries WHERE command_seq = $1 ORDER BY id DESC LIMIT 1', [
      cur.seq,
    ]));
  const { cmd, reason } = matchResult(
    {
      byId: (id) => (id === uuid ? cmdById : undefined),
      bySeq: (seq) => (seq === boundSeq ? bound : undefined),
      seqOfDeviceUuid: () => boundSeq,
      inFlight: () => cur,
      lastDelivery: (seq) => (seq === cur?.seq ? last : undefined),
    },
    deviceId,
    query,
  );
  if (!cmd) {
    await q(
      c,
      'INSERT INTO push_unmatched_results (device_id, received_at, command_id, reason, body, endpoint) VALUES ($1, $2, $3, $4, $5, $6)',
      [deviceId, at, uuid ?? null, reason, raw, endpoint ?? null],
    );
    return { matched: false, reason, commandId: uuid ?? null };
  }
  const status: Status = r.ok ? 'done' : 'failed';
  const why = r.ok ? null : 'device error';
  await q(
    c,
    `UPDATE push_commands SET status = $1, reason = $2, finished_at = $3, response = $4, response_encoding = $5, error = $6,
            error_encoding = $7, result_endpoint = $8, result_uuid = $9 WHERE seq = $10 AND status = 'delivered'`,
    [
      status,
      why,
      at,
      r.response,
      r.responseEncoding,
      r.error,
      r.errorEncoding,
      endpoint ?? null,
      uuid ?? null,
      cmd.seq,
    ],
  );
  await event(c, cmd.seq, at, status, cmd.attempts, why);
  const finished: Finished = { seq: cmd.seq, id: cmd.id, deviceId: cmd.device_id, status, reason: why };
  ch.finished.push(finished);
  await ch.notify(c);
  return { matched: true, finished };
}

async function sweep(c: C, a: Args<'push.sweep'>): Promise<{ closed: Finished[]; expired: Finished[] }> {
  const at = iso(a.now);
  const timedOut = a.seqs.length
    ? (
        await q<{ seq: number; device_id: string }>(
          c,
          'SELECT seq, device_id FROM push_commands WHERE seq = ANY($1::bigint[])',
          [a.seqs],
        )
      ).rows
    : [];
  const expiring = (
    await q<{ device_id: string }>(
      c,
      "SELECT DISTINCT device_id FROM push_commands WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= $1",
      [at],
    )
  ).rows.map((r) => r.device_id);
  const devices = [...new Set([...timedOut.map((r) => r.device_id), ...expiring])];
  const ch = new Changes();
  await lock(c, devices, ch);
  const closed: Finished[] = [];
  for (const { seq } of timedOut) {
    const cmd = await bySeq(c, seq);
    if (!cmd || cmd.status !== 'delivered' || cmd.deadline_at === null || cmd.deadline_at > at) continue;
    const n = ch.finished.length;
    if (cmd.expires_at !== null && cmd.expires_at <= at) await finishRow(cmd, 'expired', 'expired', at, c, ch);
    else if (cmd.attempts >= cmd.max_attempts) await finishRow(cmd, 'failed', 'timeout', at, c, ch);
    closed.push(...ch.finished.slice(n));
  }
  const n = ch.finished.length;
  const due = await q<CommandRow>(
    c,
    "SELECT * FROM push_commands WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= $1 AND device_id = ANY($2::text[]) ORDER BY seq",
    [at, expiring],
  );
  for (const cmd of due.rows) await finishRow(cmd, 'expired', 'expired', at, c, ch);
  const expired = ch.finished.slice(n);
  if (ch.finished.length) await ch.notify(c);
  return { closed, expired };
}

async function cancel(c: C, a: Args<'push.cancel'>): Promise<{ row?: CommandRow; finished?: Finished }> {
  const found = await byId(c, a.id);
  if (!found) return { row: undefined };
  const ch = new Changes();
  await lock(c, [found.device_id], ch);
  const cmd = (await byId(c, a.id))!;
  if (cmd.status !== 'queued') return { row: cmd };
  await finishRow(cmd, 'cancelled', 'cancelled', iso(a.now), c, ch);
  await ch.notify(c);
  return { row: await bySeq(c, cmd.seq), finished: ch.finished[0] };
}

export function writesPg(): PgWrites {
  const ops: { [K in keyof PushWrites]: (c: C, args: Args<K>) => Promise<PushWrites[K]['value']> } = {
    'push.enqueue': enqueue,
    'push.register': async (c, a) => {
      const r = await q(
        c,
        "INSERT INTO push_devices (device_id, registered_at, registered_by) VALUES ($1, $2, 'operator') ON CONFLICT (device_id) DO NOTHING",
        [a.id, iso(a.now)],
      );
      if (r.rowCount !== 1) return false;
      // the other replicas learn of the device (an unknown device is refused when allowUnknownDevices is false)
      const ch = new Changes();
      ch.versions.set(a.id, 0);
      await ch.notify(c);
      return true;
    },
    'push.touch': async (c, batch) => {
      if (batch.length === 0) return;
      const rows = [...batch].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      // another replica may have written a later time: keep the latest
      const r = await q<{ device_id: string; inserted: boolean }>(
        c,
        `INSERT INTO push_devices (device_id, registered_at, registered_by, last_seen_at, last_address)
         SELECT u.id, u.registered, 'poll', u.seen, u.address
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(id, registered, seen, address, n)
          ORDER BY u.n
         ON CONFLICT (device_id) DO UPDATE SET
           last_seen_at = GREATEST(push_devices.last_seen_at, excluded.last_seen_at),
           last_address = CASE WHEN push_devices.last_seen_at IS NULL OR excluded.last_seen_at >= push_devices.last_seen_at
                               THEN excluded.last_address ELSE push_devices.last_address END
         RETURNING device_id, (xmax = 0) AS inserted`,
        [
          rows.map((d) => d.id),
          rows.map((d) => iso(d.registeredMs)),
          rows.map((d) => iso(d.lastSeenMs)),
          rows.map((d) => d.address),
        ],
      );
      const ch = new Changes();
      for (const row of r.rows) if (row.inserted) ch.versions.set(row.device_id, 0);
      await ch.notify(c);
    },
    'push.deliver': deliver,
    'push.result': result,
    'push.sweep': sweep,
    'push.cancel': cancel,
    'push.snapshot': async (c): Promise<QueueSnapshot> => {
      const queued = await q<{ device_id: string; n: number }>(
        c,
        "SELECT device_id, COUNT(*) AS n FROM push_commands WHERE status = 'queued' GROUP BY device_id",
      );
      const inFlight = await q<CommandRow>(c, "SELECT * FROM push_commands WHERE status = 'delivered' ORDER BY seq");
      const max = await one<{ m: number | null }>(c, 'SELECT MAX(seq) AS m FROM push_commands', []);
      return { queued: queued.rows, inFlight: inFlight.rows, maxSeq: max?.m ?? 0 };
    },
  };
  return ops as unknown as PgWrites;
}
