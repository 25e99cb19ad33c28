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
import { createHash } from 'node:crypto';
import { StoreUnavailableError } from './errors.js';
import type { Session, SessionBacking } from './session.js';
import type { WriteResult, WriteRunner } from './writer.js';

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
  {
    version: 2,
    name: 'console sessions shared by the replicas',
    sql: `
      CREATE TABLE console_sessions (
        id_hash TEXT PRIMARY KEY,
        csrf TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
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
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions,
  // 57014 query_canceled (store.pool.statementTimeoutMs ran out: an overloaded database, try again later)
  if (e.code && (e.code.startsWith('08') || ['57P01', '57P02', '57P03', '57014'].includes(e.code))) return true;
  // pg's own words for a pooled client whose server went away between two of its queries
  return /timeout exceeded when trying to connect|Connection terminated|connection timeout|has encountered a connection error and is not queryable/i.test(
    e.message ?? '',
  );
}

/** `err` as the store's error: unavailability becomes StoreUnavailableError (503 + Retry-After), the rest as is. */
export function storeError(err: unknown): unknown {
  return isUnavailable(err) ? new StoreUnavailableError('the database is unreachable', { cause: err }) : err;
}

/** A LISTEN on its own connection (PgStore.listen). */
export interface Listener {
  /** stops listening and ends the connection */
  close(): Promise<void>;
}

export class PgStore {
  readonly pool: pg.Pool;
  /** migrations applied by this process, for logs and tests: [module, version] */
  readonly applied: Array<[string, number]> = [];
  private readonly listeners = new Set<Listener>();

  private constructor(
    pool: pg.Pool,
    private readonly opts: PgStoreOptions,
  ) {
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
    // a checked-out client (inside a transaction, or held for a run) whose server goes away emits on
    // itself, not on the pool: without a listener that would be an uncaught exception. Its query fails
    // too, so the caller answers 503; this only keeps the process up and logs it.
    pool.on('connect', (client) => {
      client.on('error', (err) => opts.onError?.(new Error(`postgres: ${err.message}`)));
    });
    const store = new PgStore(pool, opts);
    try {
      await store.migrate('core', CORE_MIGRATIONS, true);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return store;
  }

  /** One statement on the pool (text, or a pg query config); an unreachable database throws StoreUnavailableError. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string | pg.QueryConfig,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      throw storeError(e);
    }
  }

  /**
   * Runs `fn` in one transaction on one connection; rolls back if it throws. An unreachable database
   * throws StoreUnavailableError; a connection broken inside the transaction is not given back to the pool.
   */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw storeError(e);
    }
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const v = await fn(c);
      await c.query('COMMIT');
      return v;
    } catch (e) {
      if (isUnavailable(e)) broken = e as Error;
      else await c.query('ROLLBACK').catch((r: unknown) => (broken = r as Error));
      throw storeError(e);
    } finally {
      c.release(broken);
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
    const r = await this.query(
      `INSERT INTO job_runs (job, slot, replica, claimed_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (job, slot) DO NOTHING`,
      [job, slot, replica],
    );
    return r.rowCount === 1;
  }

  /** Records a notification (as Store.notify). */
  async notify(module: string, level: 'info' | 'alert', text: string): Promise<void> {
    await this.query('INSERT INTO notifications (created_at, module, level, text) VALUES (now(), $1, $2, $3)', [
      module,
      level,
      text,
    ]);
  }

  /** A module's notifications, newest first (as Store.listNotifications: `time` ISO 8601, at most 1000). */
  async listNotifications(
    module: string,
    opts: { limit?: number; afterId?: number } = {},
  ): Promise<Array<{ id: number; time: string; level: 'info' | 'alert'; text: string }>> {
    const r = await this.query<{ id: string; time: Date; level: 'info' | 'alert'; text: string }>(
      'SELECT id, created_at AS time, level, text FROM notifications WHERE module = $1 AND id > $2 ORDER BY id DESC LIMIT $3',
      [module, opts.afterId ?? 0, Math.min(opts.limit ?? 100, 1000)],
    );
    return r.rows.map((n) => ({ id: Number(n.id), time: n.time.toISOString(), level: n.level, text: n.text }));
  }

  /** Deletes notifications created before `before`, and job claims older than that; returns how many notifications. */
  async pruneNotifications(before: Date): Promise<number> {
    const r = await this.query('DELETE FROM notifications WHERE created_at < $1', [before]);
    await this.query('DELETE FROM job_runs WHERE slot < $1', [before]);
    return r.rowCount ?? 0;
  }

  /** Console sessions in the database (the session id itself is a secret: only its hash is stored). */
  sessions(): SessionBacking {
    const hash = (id: string) => createHash('sha256').update(id).digest('base64url');
    return {
      put: async (s) => {
        await this.query('DELETE FROM console_sessions WHERE expires_at <= now()');
        await this.query('INSERT INTO console_sessions (id_hash, csrf, expires_at) VALUES ($1, $2, $3)', [
          hash(s.id),
          s.csrf,
          new Date(s.expiresMs),
        ]);
      },
      get: async (id) => {
        const r = await this.query<{ csrf: string; expires_at: Date }>(
          'SELECT csrf, expires_at FROM console_sessions WHERE id_hash = $1',
          [hash(id)],
        );
        const row = r.rows[0];
        return row ? ({ id, csrf: row.csrf, expiresMs: row.expires_at.getTime() } satisfies Session) : undefined;
      },
      remove: async (id) => {
        await this.query('DELETE FROM console_sessions WHERE id_hash = $1', [hash(id)]);
      },
    };
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

  /**
   * LISTENs on `channel` on a dedicated connection (not the pool's: a LISTEN lives as long as its
   * connection) and calls `onMessage` with each notification's payload. Resolves once the first
   * LISTEN is in place (a NOTIFY committed after that reaches `onMessage`). When the connection is
   * lost it reconnects by itself (backoff up to 5 s) and calls `onReconnect` once the LISTEN is in
   * place again: notifications sent meanwhile are lost, so the caller reloads what it keeps fresh.
   */
  async listen(channel: string, onMessage: (payload: string) => void, onReconnect: () => void): Promise<Listener> {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`listen: bad channel name ${channel}`);
    let client: pg.Client | undefined;
    let closed = false;
    let retry: NodeJS.Timeout | undefined;
    let delay = 100;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({
        connectionString: this.opts.url,
        connectionTimeoutMillis: this.opts.connectionTimeoutMs ?? 5000,
        application_name: `${this.opts.applicationName ?? 'fieldhub'} listen`,
        keepAlive: true,
      });
      // a lost connection emits 'error' (or only 'end'): either way reconnect once
      let lost = false;
      const onLost = (err?: Error) => {
        if (lost) return;
        lost = true;
        c.removeAllListeners('notification');
        c.end().catch(() => undefined);
        if (closed) return;
        if (err) this.opts.onError?.(new Error(`postgres listen ${channel}: ${err.message}`));
        schedule();
      };
      c.on('error', onLost);
      c.on('end', () => onLost());
      c.on('notification', (n) => {
        if (n.channel === channel) onMessage(n.payload ?? '');
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
      } catch (e) {
        lost = true;
        c.removeAllListeners();
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
        throw storeError(e);
      }
      client = c;
      if (closed) await c.end().catch(() => undefined);
    };
    const schedule = () => {
      client = undefined;
      retry = setTimeout(() => {
        retry = undefined;
        connect().then(
          () => {
            delay = 100;
            if (!closed) onReconnect();
          },
          () => {
            delay = Math.min(delay * 2, 5000);
            if (!closed) schedule();
          },
        );
      }, delay);
      retry.unref();
    };
    await connect();
    const listener: Listener = {
      close: async () => {
        closed = true;
        this.listeners.delete(listener);
        clearTimeout(retry);
        const c = client;
        client = undefined;
        await c?.end().catch(() => undefined);
      },
    };
    this.listeners.add(listener);
    return listener;
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.close()));
    await this.pool.end();
  }
}

/** A module's write ops on PostgreSQL (`writes-pg.ts`): the same names as its SQLite `writes.ts`. */
export type PgWrites = Record<string, (c: pg.PoolClient, args: unknown) => Promise<unknown>>;

/**
 * The writer on PostgreSQL: the same `run(op, args)` as the SQLite writer thread (src/core/writer.ts),
 * each op in its own transaction on a pooled connection (the database serialises concurrent writers
 * itself), resolved after COMMIT. Modules' routes and services call `app.writer.run` on either driver.
 */
export class PgWriter implements WriteRunner {
  private group = 0;
  private closed = false;

  constructor(
    private readonly store: PgStore,
    private readonly ops: PgWrites,
  ) {}

  /** Loads the modules' `writesPg()` files (URL hrefs) and checks that no op is defined twice. */
  static async load(store: PgStore, files: readonly string[]): Promise<PgWriter> {
    const ops: PgWrites = {};
    for (const f of files) {
      const m = (await import(f)) as { writesPg: () => PgWrites };
      for (const [name, fn] of Object.entries(m.writesPg())) {
        if (name in ops) throw new Error(`writer: write ${name} is defined twice`);
        ops[name] = fn;
      }
    }
    return new PgWriter(store, ops);
  }

  async run<T = unknown>(op: string, args?: unknown): Promise<WriteResult<T>> {
    if (this.closed) throw new Error('writer is closed');
    const fn = this.ops[op];
    if (!fn) throw new Error(`writer: no write named ${op}`);
    const value = (await this.store.tx((c) => fn(c, args))) as T;
    return { value, group: ++this.group };
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
