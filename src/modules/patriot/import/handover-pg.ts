/**
 * The hand-over on PostgreSQL (store.driver "postgres"): the per-client XML is the rows of
 * `patriot_client_xml`, written by the API in the transaction of each change. A run claims rows by
 * writing its id into them (oldest first, `FOR UPDATE SKIP LOCKED`: a row a change holds is left for
 * the next run), combines from the claimed texts, and then either drops its rows in the transaction
 * that records the batch (writes-pg.ts recordBatch) or gives them back. A change during the run clears
 * the claim (a newer "file"), so it stays for the next run, as link() EEXIST tells on SQLite.
 *
 * The run lock is a session advisory lock held on one pooled connection for the run: one run at a
 * time across every replica and process on the database (the scheduler claims each slot once; this
 * also covers "run now" and the CLI). A replica that dies loses its connection and so its lock; the
 * next run, under the lock, gives back the claims it left (recover).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurable } from '../../../core/files.js';
import { storeError, type PgStore } from '../../../core/pg.js';
import type { ClaimedXml } from '../writes-pg.js';
import type { RunWrite } from '../writes.js';
import { MAX_FILE_BYTES, rejectedPath, reportRejected } from './batch.js';
import type { Claim } from './claims.js';
import type { Row, RunContext, RunReport } from './context.js';
import type { HandOver } from './handover.js';
import { RunLockedError } from './lock.js';
import { parseClientXml, XmlRejectError } from './xml.js';

/** the advisory lock of the import run (its own key space: hashtext of the job's name) */
const LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('fieldhub.patriot.import')) AS ok";
const UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtext('fieldhub.patriot.import'))";

export class PgHandOver implements HandOver {
  constructor(
    private readonly pg: PgStore,
    private readonly write: RunWrite,
  ) {}

  async lock(): Promise<() => Promise<void>> {
    let c;
    try {
      c = await this.pg.pool.connect();
    } catch (e) {
      throw storeError(e);
    }
    let ok: boolean;
    try {
      ok = (await c.query<{ ok: boolean }>(LOCK_SQL)).rows[0]!.ok;
    } catch (e) {
      c.release(e as Error);
      throw storeError(e);
    }
    if (!ok) {
      c.release();
      throw new RunLockedError('another import run is in progress (on this or another replica)');
    }
    return async () => {
      try {
        await c.query(UNLOCK_SQL);
        c.release();
      } catch (e) {
        c.release(e as Error); // a broken connection is dropped, and its lock with it
      }
    };
  }

  recover(): Promise<number> {
    return this.write<number>('patriot.import.recoverClaims');
  }

  async collect(
    ctx: RunContext,
    runId: string,
    report: RunReport,
    onClaim: (c: Claim) => void,
  ): Promise<Map<string, Row>> {
    const max = ctx.config.patriot.import.maxClientsPerRun;
    const rows = new Map<string, Row>();
    let full = false;
    while (!full && rows.size < max) {
      const got = await this.write<ClaimedXml[]>('patriot.import.claimXml', {
        runId,
        limit: Math.min(256, max - rows.size),
      });
      if (!got.length) break;
      const back: Array<[string, number]> = [];
      for (const g of got) {
        const rel = `${g.key_name}/${g.client_id}.xml`;
        const size = Buffer.byteLength(g.xml);
        const c: Claim = {
          file: rel,
          rel,
          keyName: g.key_name,
          clientId: g.client_id,
          mtimeMs: 0,
          size,
          claimed: runId,
          version: g.version,
        };
        onClaim(c);
        let parsed;
        try {
          if (size > MAX_FILE_BYTES)
            throw new XmlRejectError(`file too large (${size} bytes, limit ${MAX_FILE_BYTES})`);
          parsed = parseClientXml(g.xml);
        } catch (e) {
          if (!(e instanceof XmlRejectError)) throw e;
          await this.reject(ctx, runId, c, g.xml, e.message, report);
          continue;
        }
        const fresh = parsed.filter((r) => !rows.has(r.id)).length;
        if (full || (rows.size > 0 && rows.size + fresh > max)) {
          back.push([g.key_name, g.client_id]); // does not fit this batch
          c.claimed = '';
          full = true;
          continue;
        }
        for (const r of parsed) rows.set(r.id, { id: r.id, xml: r.xml, claim: c }); // oldest first: a later duplicate wins
      }
      if (back.length) await this.write('patriot.import.restoreClaims', { runId, clients: back });
    }
    const waiting = await this.pg.query<{ n: number }>(
      'SELECT COUNT(*)::int AS n FROM patriot_client_xml WHERE claimed_by IS NULL',
    );
    report.waiting += waiting.rows[0]!.n;
    return rows;
  }

  /** An unusable XML row: kept as a file under rejected/ (as SQLite moves the file there), its row dropped. */
  private async reject(ctx: RunContext, runId: string, c: Claim, xml: string, reason: string, report: RunReport) {
    const target = rejectedPath(ctx, runId, c);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFileDurable(target, xml);
    await this.write('patriot.import.dropClaim', { runId, k: c.keyName, id: c.clientId });
    c.claimed = '';
    await reportRejected(ctx, c, reason, target, report);
  }

  async restoreAll(claims: readonly Claim[]): Promise<void> {
    for (const runId of new Set(claims.map((c) => c.claimed).filter(Boolean)))
      await this.write('patriot.import.restoreClaims', { runId });
  }

  async releaseAll(): Promise<void> {
    // recordBatch dropped the run's rows in its transaction
  }

  async superseded(claims: readonly Claim[]): Promise<Set<string>> {
    const held = claims.filter((c) => c.claimed && c.clientId !== null);
    if (!held.length) return new Set();
    const r = await this.pg.query<{ key_name: string; client_id: number }>(
      `SELECT x.key_name, x.client_id FROM patriot_client_xml x JOIN unnest($1::text[], $2::int[]) AS t(k, i)
          ON x.key_name = t.k AND x.client_id = t.i
        WHERE x.claimed_by IS DISTINCT FROM $3`,
      [held.map((c) => c.keyName), held.map((c) => c.clientId), held[0]!.claimed],
    );
    return new Set(r.rows.map((x) => `${x.key_name}\0${x.client_id}`));
  }
}
