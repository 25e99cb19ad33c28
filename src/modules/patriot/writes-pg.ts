/**
 * The patriot module's write ops on PostgreSQL (store.driver "postgres"): the ops of writes.ts with
 * the same names, arguments and results, each run by core's PgWriter in its own transaction and
 * answered after its COMMIT; a refused one (404, 409) rolls back alone.
 *
 * The per-client XML lives in `patriot_client_xml` here, so a change writes its client's XML in the
 * same transaction as the change and its state row (status 'changed', xml_version + 1): the two can
 * never disagree, and there is nothing to repair after a crash. The ops of the API take the key's
 * entry of keys.json (`key`, in-process: PgWriter runs on the main thread) to render the XML; without
 * it (the key left keys.json) the XML is left as it is, as on SQLite. Each op locks its client's row
 * first, so concurrent changes of one client are serialised and the last XML carries the latest data.
 *
 * The import's hand-over of the XML (claims) is here too: PG-only ops with the `patriot.import.` prefix.
 */
import type pg from 'pg';
import type { PgWrites } from '../../core/pg.js';
import type { BatchItem, RunRow } from './import/store.js';
import type { ApiKey } from './keys.js';
import type { Info, User, Zone } from './schemas.js';
import { readClient, type Sql } from './store-pg.js';
import { clientView, orderInfo, orderUser } from './store.js';
import { WriteRefused } from './writes.js';
import { buildClientXml } from './xml.js';

interface Ref {
  k: string;
  id: number;
  /** the key's entry of keys.json, to render the XML; absent: the XML is not touched */
  key?: ApiKey;
}

const notFound = (what: string) => new WriteRefused(404, `${what} not found`);
const now = () => new Date().toISOString();
const sqlOf = (c: pg.PoolClient): Sql => ((text: string, params?: unknown[]) => c.query(text, params)) as Sql;

export interface ClaimedXml {
  key_name: string;
  client_id: number;
  xml: string;
  version: number | null;
  queued: string;
}

/** The ops on one transaction's client. */
export function patriotPg(c: pg.PoolClient) {
  const sql = sqlOf(c);
  const lock = async (k: string, id: number) =>
    (
      await sql<{ info: string }>(
        'SELECT info FROM patriot_clients WHERE key_name = $1 AND client_id = $2 FOR UPDATE',
        [k, id],
      )
    ).rows[0];
  const mustExist = async (k: string, id: number) => {
    if (!(await lock(k, id))) throw notFound('Client');
  };
  const touch = (k: string, id: number) =>
    sql('UPDATE patriot_clients SET updated_at = $1 WHERE key_name = $2 AND client_id = $3', [now(), k, id]);
  /** status 'changed', xml_version + 1, attempts kept (only for a client that exists) */
  const changed = async (k: string, id: number) => {
    await sql(
      `INSERT INTO patriot_client_state (key_name, client_id, status, attempts, xml_version, updated_at)
         SELECT $1, $2, 'changed', 0, 1, $3 WHERE EXISTS (SELECT 1 FROM patriot_clients WHERE key_name = $1 AND client_id = $2)
       ON CONFLICT (key_name, client_id) DO UPDATE SET status = 'changed', xml_version = patriot_client_state.xml_version + 1,
         updated_at = excluded.updated_at`,
      [k, id, now()],
    );
  };
  /**
   * The client's XML as it is now in this transaction: rendered and stored (true), removed when the
   * client is gone (false), left alone without the key (false).
   */
  const syncXml = async (k: string, id: number, key: ApiKey | undefined): Promise<boolean> => {
    const client = await readClient(sql, k, id);
    if (!client) {
      await sql('DELETE FROM patriot_client_xml WHERE key_name = $1 AND client_id = $2', [k, id]);
      return false;
    }
    if (!key) return false;
    await sql(
      `INSERT INTO patriot_client_xml (key_name, client_id, xml, xml_version, updated_at)
         VALUES ($1, $2, $3, (SELECT xml_version FROM patriot_client_state WHERE key_name = $1 AND client_id = $2), $4)
       ON CONFLICT (key_name, client_id) DO UPDATE SET xml = excluded.xml, xml_version = excluded.xml_version,
         updated_at = excluded.updated_at, claimed_by = NULL`,
      [k, id, buildClientXml(key, client), now()],
    );
    return true;
  };
  const putInfo = async (k: string, id: number, info: Info): Promise<boolean> => {
    const t = now();
    const r = await sql<{ created: boolean }>(
      `INSERT INTO patriot_clients (key_name, client_id, info, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (key_name, client_id) DO UPDATE SET info = excluded.info, updated_at = excluded.updated_at
       RETURNING (xmax = 0) AS created`,
      [k, id, JSON.stringify(orderInfo(info)), t],
    );
    return r.rows[0]!.created;
  };
  const getUser = async (k: string, id: number, no: number) => {
    const r = await sql<{ data: string }>(
      'SELECT data FROM patriot_users WHERE key_name = $1 AND client_id = $2 AND user_no = $3',
      [k, id, no],
    );
    return r.rows[0] ? (JSON.parse(r.rows[0].data) as User) : undefined;
  };
  /** a change done: state row, then the XML, in this transaction */
  const done = async (k: string, id: number, key: ApiKey | undefined) => {
    await changed(k, id);
    await syncXml(k, id, key);
  };
  return { sql, lock, mustExist, touch, changed, syncXml, putInfo, getUser, done };
}

export function writesPg(): PgWrites {
  const ops = {
    'patriot.putClient': async (c: pg.PoolClient, { k, id, info, key }: Ref & { info: Info }) => {
      const p = patriotPg(c);
      await p.lock(k, id);
      const created = await p.putInfo(k, id, info);
      await p.done(k, id, key);
      return { created, view: clientView((await readClient(p.sql, k, id))!) };
    },
    'patriot.patchClient': async (c: pg.PoolClient, { k, id, info, key }: Ref & { info: Partial<Info> }) => {
      const p = patriotPg(c);
      const cur = await p.lock(k, id);
      if (!cur) throw notFound('Client');
      await p.putInfo(k, id, { ...(JSON.parse(cur.info) as Info), ...info });
      await p.done(k, id, key);
      return clientView((await readClient(p.sql, k, id))!);
    },
    'patriot.deleteClient': async (c: pg.PoolClient, { k, id }: Ref) => {
      const p = patriotPg(c);
      const r = await p.sql('DELETE FROM patriot_clients WHERE key_name = $1 AND client_id = $2', [k, id]);
      await p.sql('DELETE FROM patriot_client_state WHERE key_name = $1 AND client_id = $2', [k, id]);
      if (r.rowCount !== 1) throw notFound('Client');
      await p.syncXml(k, id, undefined);
      return null;
    },
    'patriot.putZone': async (c: pg.PoolClient, { k, id, zone, key }: Ref & { zone: Zone }) => {
      const p = patriotPg(c);
      await p.mustExist(k, id);
      await p.sql(
        `INSERT INTO patriot_zones (key_name, client_id, zone_no, zone_area, module_no) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key_name, client_id, zone_no) DO UPDATE SET zone_area = excluded.zone_area, module_no = excluded.module_no`,
        [k, id, zone.Zone_No, zone.Zone_area, zone.ModuleNo],
      );
      await p.touch(k, id);
      await p.done(k, id, key);
      return null;
    },
    'patriot.deleteZone': async (c: pg.PoolClient, { k, id, zone, key }: Ref & { zone: number }) => {
      const p = patriotPg(c);
      await p.mustExist(k, id);
      const r = await p.sql('DELETE FROM patriot_zones WHERE key_name = $1 AND client_id = $2 AND zone_no = $3', [
        k,
        id,
        zone,
      ]);
      if (r.rowCount !== 1) throw notFound('Zone');
      await p.touch(k, id);
      await p.done(k, id, key);
      return null;
    },
    'patriot.insertUser': async (c: pg.PoolClient, { k, id, user, key }: Ref & { user: User }) => {
      const p = patriotPg(c);
      await p.mustExist(k, id);
      if (await p.getUser(k, id, user.UserNo)) throw new WriteRefused(409, `User ${user.UserNo} already exists`);
      await p.sql('INSERT INTO patriot_users (key_name, client_id, user_no, data) VALUES ($1, $2, $3, $4)', [
        k,
        id,
        user.UserNo,
        JSON.stringify(orderUser(user)),
      ]);
      await p.touch(k, id);
      await p.done(k, id, key);
      return p.getUser(k, id, user.UserNo);
    },
    'patriot.updateUser': async (c: pg.PoolClient, { k, id, user, key }: Ref & { user: User }) => {
      const p = patriotPg(c);
      await p.mustExist(k, id);
      const r = await p.sql(
        'UPDATE patriot_users SET data = $1 WHERE key_name = $2 AND client_id = $3 AND user_no = $4',
        [JSON.stringify(orderUser(user)), k, id, user.UserNo],
      );
      if (r.rowCount !== 1) throw notFound('User');
      await p.touch(k, id);
      await p.done(k, id, key);
      return p.getUser(k, id, user.UserNo);
    },
    'patriot.deleteUser': async (c: pg.PoolClient, { k, id, userNo, key }: Ref & { userNo: number }) => {
      const p = patriotPg(c);
      await p.mustExist(k, id);
      const r = await p.sql('DELETE FROM patriot_users WHERE key_name = $1 AND client_id = $2 AND user_no = $3', [
        k,
        id,
        userNo,
      ]);
      if (r.rowCount !== 1) throw notFound('User');
      await p.touch(k, id);
      await p.done(k, id, key);
      return null;
    },
    /** state 'changed' and, with `key`, the XML rewritten in the same transaction; true when XML was written */
    'patriot.markChanged': async (c: pg.PoolClient, { k, id, key }: Ref) => {
      const p = patriotPg(c);
      await p.lock(k, id);
      await p.changed(k, id);
      return key ? p.syncXml(k, id, key) : null;
    },
    /** PG only: the XML rewritten from the store without a change of state (a regenerated retry) */
    'patriot.writeXml': async (c: pg.PoolClient, { k, id, key }: Ref) => {
      const p = patriotPg(c);
      await p.lock(k, id);
      return p.syncXml(k, id, key);
    },

    // ---- the import pipeline's runs and batches ----
    'patriot.import.startRun': async (
      c: pg.PoolClient,
      r: { run_id: string; trigger: string; started_at: string; batch_time: string; transport: string },
    ) => {
      await abandonRuns(c);
      await c.query(
        `INSERT INTO patriot_import_runs (run_id, trigger, started_at, batch_time, result, transport) VALUES ($1, $2, $3, $4, 'running', $5)`,
        [r.run_id, r.trigger, r.started_at, r.batch_time, r.transport],
      );
      return null;
    },
    'patriot.import.finishRun': async (c: pg.PoolClient, r: RunRow & { finished_at: string }) => {
      await c.query(
        `UPDATE patriot_import_runs SET finished_at = $1, result = $2, clients = $3, bytes = $4, rejected = $5,
           waiting = $6, checked = $7, check_failed = $8, rotated_as = $9, error = $10 WHERE run_id = $11`,
        [
          r.finished_at,
          r.result,
          r.clients,
          r.bytes,
          r.rejected,
          r.waiting,
          r.checked,
          r.check_failed,
          r.rotated_as,
          r.error,
          r.run_id,
        ],
      );
      return null;
    },
    'patriot.import.abandonRuns': (c: pg.PoolClient) => abandonRuns(c),
    /** the batch recorded, its clients pending_import, and the XML it uploaded dropped: one transaction */
    'patriot.import.recordBatch': async (
      c: pg.PoolClient,
      { runId, batch, items }: { runId: string; batch: string; items: BatchItem[] },
    ) => {
      const t = now();
      await c.query(
        `INSERT INTO patriot_import_items (run_id, xml_id, key_name, client_id, xml_version)
           SELECT $1, x, k, i, v FROM unnest($2::text[], $3::text[], $4::int[], $5::int[]) AS t(x, k, i, v)
         ON CONFLICT (run_id, xml_id) DO UPDATE SET key_name = excluded.key_name, client_id = excluded.client_id,
           xml_version = excluded.xml_version, seq = nextval(pg_get_serial_sequence('patriot_import_items', 'seq'))`,
        [
          runId,
          items.map((i) => i.xmlId),
          items.map((i) => i.keyName),
          items.map((i) => i.clientId),
          items.map((i) => i.version),
        ],
      );
      // one state update per client (the last item of a client wins, as the SQLite loop's last update)
      const last = new Map(items.map((i) => [`${i.keyName}\0${i.clientId}`, i]));
      const us = [...last.values()];
      const ks = us.map((i) => i.keyName);
      const ids = us.map((i) => i.clientId);
      // in a successful batch: pending_import, unless the API changed the client since the claim (`version`)
      await c.query(
        `UPDATE patriot_client_state s SET
           status = CASE WHEN t.v IS NULL OR s.xml_version = t.v THEN 'pending_import' ELSE s.status END,
           attempts = CASE WHEN s.status = 'changed' AND (t.v IS NULL OR s.xml_version = t.v) THEN 0 ELSE s.attempts END,
           last_batch = $1, updated_at = $2
         FROM unnest($3::text[], $4::int[], $5::int[]) AS t(k, i, v)
         WHERE s.key_name = t.k AND s.client_id = t.i`,
        [batch, t, ks, ids, us.map((i) => i.version)],
      );
      await c.query(
        `INSERT INTO patriot_client_state (key_name, client_id, status, last_batch, attempts, xml_version, updated_at)
           SELECT k, i, 'pending_import', $1, 0, 0, $2 FROM unnest($3::text[], $4::int[]) AS t(k, i)
         ON CONFLICT (key_name, client_id) DO NOTHING`,
        [batch, t, ks, ids],
      );
      // the uploaded XML leaves the hand-over (a row the API rewrote meanwhile is no longer claimed: it stays)
      await c.query('DELETE FROM patriot_client_xml WHERE claimed_by = $1', [runId]);
      return null;
    },
    'patriot.import.applyCheck': async (
      c: pg.PoolClient,
      { completed, failed }: Record<'completed' | 'failed', Array<{ key_name: string; client_id: number }>>,
    ) => {
      const t = now();
      await c.query(
        `UPDATE patriot_client_state s SET status = 'imported', attempts = 0, updated_at = $1
           FROM unnest($2::text[], $3::int[]) AS t(k, i)
          WHERE s.key_name = t.k AND s.client_id = t.i AND s.status = 'pending_import'`,
        [t, completed.map((x) => x.key_name), completed.map((x) => x.client_id)],
      );
      const out = [];
      for (const f of failed) {
        const r = await c.query<{ status: string; attempts: number }>(
          `INSERT INTO patriot_client_state AS s (key_name, client_id, status, last_batch, attempts, xml_version, updated_at)
             VALUES ($1, $2, 'import_failed', NULL, 1, 0, $3)
           ON CONFLICT (key_name, client_id) DO UPDATE SET
             status = CASE WHEN s.status = 'changed' THEN s.status ELSE 'import_failed' END,
             attempts = s.attempts + 1, updated_at = excluded.updated_at
           RETURNING status, attempts`,
          [f.key_name, f.client_id, t],
        );
        out.push({ ...f, ...r.rows[0]! });
      }
      return out;
    },

    // ---- PG only: the import's claims of the XML rows (import/handover-pg.ts) ----
    /** up to `limit` unclaimed XML rows, oldest first, claimed by `runId` (rows locked by a change are skipped) */
    'patriot.import.claimXml': async (c: pg.PoolClient, { runId, limit }: { runId: string; limit: number }) => {
      const r = await c.query<ClaimedXml>(
        `WITH picked AS (
           SELECT key_name, client_id FROM patriot_client_xml WHERE claimed_by IS NULL
            ORDER BY queued LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE patriot_client_xml x SET claimed_by = $1 FROM picked p
          WHERE x.key_name = p.key_name AND x.client_id = p.client_id
         RETURNING x.key_name, x.client_id, x.xml, x.xml_version AS version, x.queued::text AS queued`,
        [runId, limit],
      );
      return r.rows.sort((a, b) => Number(a.queued) - Number(b.queued));
    },
    /** claims of `runId` given back (all, or the listed clients) */
    'patriot.import.restoreClaims': async (
      c: pg.PoolClient,
      { runId, clients }: { runId: string; clients?: Array<[string, number]> },
    ) => {
      const r = clients
        ? await c.query(
            `UPDATE patriot_client_xml x SET claimed_by = NULL FROM unnest($2::text[], $3::int[]) AS t(k, i)
              WHERE x.claimed_by = $1 AND x.key_name = t.k AND x.client_id = t.i`,
            [runId, clients.map((x) => x[0]), clients.map((x) => x[1])],
          )
        : await c.query('UPDATE patriot_client_xml SET claimed_by = NULL WHERE claimed_by = $1', [runId]);
      return r.rowCount ?? 0;
    },
    /** a claimed row dropped (its XML was rejected and kept under rejected/) */
    'patriot.import.dropClaim': async (
      c: pg.PoolClient,
      { runId, k, id }: { runId: string; k: string; id: number },
    ) => {
      await c.query('DELETE FROM patriot_client_xml WHERE claimed_by = $1 AND key_name = $2 AND client_id = $3', [
        runId,
        k,
        id,
      ]);
      return null;
    },
    /**
     * Under the cluster's run lock: every claim left is of a run that died. Dropped when its batch was
     * recorded, else given back. Returns how many.
     */
    'patriot.import.recoverClaims': async (c: pg.PoolClient) => {
      const d = await c.query(
        `DELETE FROM patriot_client_xml x WHERE x.claimed_by IS NOT NULL
           AND EXISTS (SELECT 1 FROM patriot_import_items i WHERE i.run_id = x.claimed_by)`,
      );
      const u = await c.query('UPDATE patriot_client_xml SET claimed_by = NULL WHERE claimed_by IS NOT NULL');
      return (d.rowCount ?? 0) + (u.rowCount ?? 0);
    },
  };
  return ops as unknown as PgWrites;
}

async function abandonRuns(c: pg.PoolClient): Promise<number> {
  const r = await c.query(
    `UPDATE patriot_import_runs r SET
       result = CASE WHEN EXISTS (SELECT 1 FROM patriot_import_items i WHERE i.run_id = r.run_id) THEN 'ok' ELSE 'failed' END,
       error = CASE WHEN EXISTS (SELECT 1 FROM patriot_import_items i WHERE i.run_id = r.run_id)
         THEN 'interrupted after the batch was uploaded and recorded' ELSE 'interrupted (process stopped during the run)' END,
       finished_at = $1
     WHERE result = 'running'`,
    [now()],
  );
  return r.rowCount ?? 0;
}
