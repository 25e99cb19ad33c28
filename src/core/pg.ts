/**
 * The PostgreSQL store (issue 17, docs/postgres.md): a `pg` pool, the same versioning as the SQLite
 * store (core bookkeeping tables, then each module's numbered migrations, each module's pending
 * migrations in one transaction, a database written by newer code refuses to start), and the
 * mechanisms that let several replicas share one database:
 *
 * - migrations take a transaction-scoped advisory lock, so replicas starting together migrate once;
 * - `claimRun(job, slot)` claims one scheduled run of a job for the whole cluster (a row per job and
 *   schedule slot, INSERT ... ON CONFLICT DO NOTHING): the first replica whose timer fires runs it,
 *   the others skip that slot, and when a replica dies the survivors claim the next slot.
 *
 * The URL holds the password: it is never logged (the pool's errors are logged without it).
 */
import pg from 'pg';
import { StoreVersionError, type Migration } from './db.js';

export interface PgStoreOptions {
  url: string;
  /** pool size per replica */
  max?: number;
  /** ms to wait for a free connection or a new one before a query fails (the module answers 503) */
  connectionTimeoutMs?: number;
  /** ms a statement may run before PostgreSQL cancels it */
  statementTimeoutMs?: number;
  /** application_name shown in pg_stat_activity */
  applicationName?: string;
  /** called with pool errors (an idle connection lost); never given the URL */
  onError?: (err: Error) => void;
}

const CORE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
      CREATE TABLE schema_migrations (
        module TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL
      );
      CREATE TABLE notifications (
        id BIGSERIAL PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL,
        module TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('info', 'alert')),
        text TEXT NOT NULL
      );
      CREATE INDEX notifications_module ON notifications(module, id);
      CREATE TABLE job_runs (
        job TEXT NOT NULL,
        slot TIMESTAMPTZ NOT NULL,
        replica TEXT NOT NULL,
        claimed_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (job, slot)
      );
    `,
  },
];

/** the advisory lock key that serialises migrations across replicas ('fieldhub' in ASCII) */
const MIGRATION_LOCK = 0x6669656c64687562n;

/** What a connection-level failure looks like: the module answers 503 + Retry-After, not 500. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code))
    return true;
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions
  if (e.code && (e.code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(e.code))) return true;
  return /timeout exceeded when trying to connect|Connection terminated|connection timeout/i.test(e.message ?? '');
}

export class PgStore {
  readonly pool: pg.Pool;
  /** migrations applied by this process, for logs and tests: [module, version] */
  readonly applied: Array<[string, number]> = [];

  private constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Connects and applies the core migrations. */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max ?? 10,
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      application_name: opts.applicationName ?? 'fieldhub',
    });
    // an idle client that loses its server emits here; without a listener the process would crash
    pool.on('error', (err) => opts.onError?.(new Error(`postgres: ${err.message}`)));
    const store = new PgStore(pool);
    try {
      await store.migrate('core', CORE_MIGRATIONS, true);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return store;
  }

  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const v = await fn(c);
      await c.query('COMMIT');
      return v;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  /** Applies a module's pending migrations in one transaction (serialised across replicas). */
  async migrate(module: string, migrations: readonly Migration[], core = false): Promise<number[]> {
    migrations.forEach((m, i) => {
      if (m.version !== i + 1)
        throw new Error(`${module}: migration ${m.name} has version ${m.version}, expected ${i + 1}`);
    });
    const latest = migrations.length;
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      let current = 0;
      if (core) {
        const t = await c.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'",
        );
        if (t.rows[0]!.n > 0) current = await this.version(c, module);
      } else {
        current = await this.version(c, module);
      }
      if (current > latest) {
        throw new StoreVersionError(
          `database has ${module} schema version ${current}, newer than this fieldhub (${latest}); upgrade fieldhub or restore a backup`,
        );
      }
      const done: number[] = [];
      for (const m of migrations.slice(current)) {
        await c.query(m.sql);
        done.push(m.version);
        this.applied.push([module, m.version]);
      }
      if (done.length) {
        await c.query(
          `INSERT INTO schema_migrations (module, version, applied_at) VALUES ($1, $2, now())
           ON CONFLICT (module) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
          [module, latest],
        );
      }
      return done;
    });
  }

  private async version(c: pg.PoolClient, module: string): Promise<number> {
    const r = await c.query<{ version: number }>('SELECT version FROM schema_migrations WHERE module = $1', [module]);
    return r.rows[0]?.version ?? 0;
  }

  /**
   * Claims the run of `job` scheduled at `slot` for this replica: true for exactly one replica per
   * (job, slot), however many fire; false for the others (and for a slot already run).
   */
  async claimRun(job: string, slot: Date, replica: string): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO job_runs (job, slot, replica, claimed_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (job, slot) DO NOTHING`,
      [job, slot, replica],
    );
    return r.rowCount === 1;
  }

  /** Records a notification (as Store.notify). */
  async notify(module: string, level: 'info' | 'alert', text: string): Promise<void> {
    await this.pool.query('INSERT INTO notifications (created_at, module, level, text) VALUES (now(), $1, $2, $3)', [
      module,
      level,
      text,
    ]);
  }

  /** Deletes notifications created before `before`, and job claims older than that; returns how many notifications. */
  async pruneNotifications(before: Date): Promise<number> {
    const r = await this.pool.query('DELETE FROM notifications WHERE created_at < $1', [before]);
    await this.pool.query('DELETE FROM job_runs WHERE slot < $1', [before]);
    return r.rowCount ?? 0;
  }

  /** true when the database answers a trivial query */
  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
