/**
 * The monthly partitions of conduit_datapoints on PostgreSQL (migrations-pg.ts): a partition per UTC
 * month of val_date, named conduit_datapoints_pYYYYMM, bounds [first second of the month, first
 * second of the next). The ingest creates the months its batch needs before it inserts; rows of a
 * month that has no partition (beyond the per-batch cap, or a replica's stale cache) land in the
 * DEFAULT partition and are moved into their month's partition when it is made, so an insert never
 * fails for want of a partition. Creation is serialised across replicas by a transaction-scoped
 * advisory lock; the partition is made as a plain table, filled from DEFAULT and attached (ATTACH
 * takes a weaker lock on the parent than CREATE ... PARTITION OF, so reads go on meanwhile).
 */
import type pg from 'pg';

export const PARENT = 'conduit_datapoints';
export const DEFAULT_PARTITION = 'conduit_datapoints_default';
/** at most this many partitions are made by one write (a batch spread over centuries goes to DEFAULT) */
export const MAX_NEW_PARTITIONS = 24;
/** the advisory lock key serialising partition changes ('cndtpart' in ASCII) */
const PARTITION_LOCK = 0x636e647470617274n.toString();

export interface Month {
  name: string;
  /** unix seconds, inclusive */
  from: number;
  /** unix seconds, exclusive */
  to: number;
}

/** the month (UTC) holding val_date `s` */
export function monthOf(s: number): Month {
  const d = new Date(s * 1000);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return {
    name: `${PARENT}_p${String(y).padStart(4, '0')}${String(m + 1).padStart(2, '0')}`,
    from: Date.UTC(y, m, 1) / 1000,
    to: Date.UTC(y, m + 1, 1) / 1000,
  };
}

/** the distinct months of these dates, in time order */
export function monthsOf(dates: Iterable<number>): Month[] {
  const out = new Map<string, Month>();
  let last: Month | undefined;
  for (const s of dates) {
    if (last && s >= last.from && s < last.to) continue;
    last = monthOf(s);
    if (!out.has(last.name)) out.set(last.name, last);
  }
  return [...out.values()].sort((a, b) => a.from - b.from);
}

/** the month partitions that exist, with their bounds (parsed from the catalog, not the names) */
export async function listPartitions(c: pg.ClientBase): Promise<Month[]> {
  const r = await c.query<{ name: string; bound: string }>(
    `SELECT k.relname AS name, pg_get_expr(k.relpartbound, k.oid) AS bound
       FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass`,
    [PARENT],
  );
  const out: Month[] = [];
  for (const row of r.rows) {
    const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(row.bound);
    if (m) out.push({ name: row.name, from: Number(m[1]), to: Number(m[2]) });
  }
  return out.sort((a, b) => a.from - b.from);
}

/**
 * The partitions of a writer: `ensure` makes the months a batch needs (inside the write's transaction,
 * before its inserts); `known` caches the months this process saw committed, so a batch of known
 * months costs no query (a partition made by a write is not cached by it: its COMMIT is to come).
 *
 * A row routed to DEFAULT while another transaction attaches its month fails its partition check
 * once that one commits (23514): a stale entry (a month dropped by another replica's retention), or
 * a month beyond the cap. The ingest then rolls back to a savepoint and calls `ensure` with `locked`:
 * holding the lock, no partition can be attached under it, so the second insert routes for good.
 */
export class Partitions {
  private readonly known = new Set<string>();

  async ensure(c: pg.ClientBase, dates: Iterable<number>, locked = false): Promise<void> {
    if (locked) {
      this.known.clear();
      await c.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    }
    const wanted = monthsOf(dates).filter((m) => !this.known.has(m.name));
    if (!wanted.length) return;
    const exist = async () => {
      const r = await c.query<{ name: string }>(
        `SELECT k.relname AS name FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
          WHERE i.inhparent = $1::regclass AND k.relname = ANY($2::text[])`,
        [PARENT, wanted.map((m) => m.name)],
      );
      for (const row of r.rows) this.known.add(row.name);
      return wanted.filter((m) => !this.known.has(m.name)).slice(0, MAX_NEW_PARTITIONS);
    };
    if (!(await exist()).length) return;
    if (!locked) await c.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    const make = await exist();
    // DEFAULT locked first: no row can reach it meanwhile and then stop the ATTACH (a row sent there
    // waits for this COMMIT, then fails its partition check and is retried under the lock, ingest-pg.ts)
    if (make.length) await c.query(`LOCK TABLE ${DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE`);
    for (const m of make) {
      await c.query(`CREATE TABLE ${m.name} (LIKE ${PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await c.query(
        `WITH moved AS (DELETE FROM ${DEFAULT_PARTITION} WHERE val_date >= $1 AND val_date < $2
           RETURNING device_id, chid, val_date, val_raw)
         INSERT INTO ${m.name} (device_id, chid, val_date, val_raw) SELECT device_id, chid, val_date, val_raw FROM moved`,
        [m.from, m.to],
      );
      await c.query(`ALTER TABLE ${PARENT} ATTACH PARTITION ${m.name} FOR VALUES FROM (${m.from}) TO (${m.to})`);
    }
  }

  /**
   * Retention: drops the partitions entirely older than `before` (counting their rows), then deletes
   * up to `batch` older rows of the rest (the month straddling `before`, and DEFAULT). Returns how
   * many datapoints went, as the SQLite `conduit.prune` does.
   */
  async prune(c: pg.ClientBase, before: number, batch: number): Promise<number> {
    let n = 0;
    const old = (await listPartitions(c)).filter((m) => m.to <= before);
    if (old.length) {
      await c.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      for (const m of old) {
        const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${m.name}`);
        n += r.rows[0]!.n;
        await c.query(`DROP TABLE ${m.name}`);
        this.known.delete(m.name);
      }
    }
    const r = await c.query(
      `DELETE FROM ${PARENT} WHERE (device_id, chid, val_date) IN
         (SELECT device_id, chid, val_date FROM ${PARENT} WHERE val_date < $1 LIMIT $2)`,
      [before, batch],
    );
    return n + (r.rowCount ?? 0);
  }
}
