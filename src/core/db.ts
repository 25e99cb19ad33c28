/**
 * The store: one better-sqlite3 database in WAL mode under the data dir.
 *
 * Versioning: `PRAGMA user_version` holds the core schema version (the bookkeeping tables below);
 * each module's schema version is a row of `schema_migrations` (module -> version), so modules own
 * their tables and number their migrations independently. Pending migrations of a module are applied
 * in one transaction at start-up; a database written by newer code refuses to open.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export type DB = Database.Database;

export interface Migration {
  /** 1, 2, 3 ... without gaps */
  version: number;
  name: string;
  /** SQL, may hold several statements */
  sql: string;
}

export interface StoreOptions {
  dataDir: string;
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  busyTimeoutMs?: number;
  /** file name under the data dir */
  fileName?: string;
}

export class StoreVersionError extends Error {
  override name = 'StoreVersionError';
}

const CORE_VERSION = 1;
const CORE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
      CREATE TABLE schema_migrations (
        module TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        applied_at TEXT NOT NULL
      );
      CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        module TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('info', 'alert')),
        text TEXT NOT NULL
      );
      CREATE INDEX notifications_module ON notifications(module, id);
    `,
  },
];

/** rows one prune statement deletes at most: callers repeat it until fewer come back */
export const PRUNE_BATCH = 5000;
/** deletes up to PRUNE_BATCH notifications created before `?` (an ISO time) */
export const PRUNE_NOTIFICATIONS = `DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created_at < ? LIMIT ${PRUNE_BATCH})`;

export class Store {
  readonly db: DB;
  readonly file: string;
  /** migrations applied by this process, for logs and tests: [module, version] */
  readonly applied: Array<[string, number]> = [];
  private readonly insertNotification;

  constructor(opts: StoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.file = path.join(opts.dataDir, opts.fileName ?? 'fieldhub.sqlite');
    this.db = new Database(this.file, { timeout: opts.busyTimeoutMs ?? 5000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.migrateCore();
    this.insertNotification = this.db.prepare(
      'INSERT INTO notifications (created_at, module, level, text) VALUES (?, ?, ?, ?)',
    );
  }

  private migrateCore(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > CORE_VERSION) {
      throw new StoreVersionError(
        `database ${this.file} has core schema version ${current}, newer than this fieldhub (${CORE_VERSION}); upgrade fieldhub or restore a backup`,
      );
    }
    if (current === CORE_VERSION) return;
    this.db
      .transaction(() => {
        for (const m of CORE_MIGRATIONS.filter((x) => x.version > current)) {
          this.db.exec(m.sql);
          this.applied.push(['core', m.version]);
        }
        this.db.pragma(`user_version = ${CORE_VERSION}`);
      })
      .immediate();
  }

  /** Applies a module's pending migrations in one transaction. Returns the versions applied. */
  migrate(module: string, migrations: readonly Migration[]): number[] {
    migrations.forEach((m, i) => {
      if (m.version !== i + 1)
        throw new Error(`${module}: migration ${m.name} has version ${m.version}, expected ${i + 1}`);
    });
    const latest = migrations.length;
    const run = this.db.transaction(() => {
      const row = this.db.prepare('SELECT version FROM schema_migrations WHERE module = ?').get(module) as
        { version: number } | undefined;
      const current = row?.version ?? 0;
      if (current > latest) {
        throw new StoreVersionError(
          `database ${this.file} has ${module} schema version ${current}, newer than this fieldhub (${latest}); upgrade fieldhub or restore a backup`,
        );
      }
      const done: number[] = [];
      for (const m of migrations.slice(current)) {
        this.db.exec(m.sql);
        done.push(m.version);
        this.applied.push([module, m.version]);
      }
      if (done.length) {
        this.db
          .prepare(
            'INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at',
          )
          .run(module, latest, new Date().toISOString());
      }
      return done;
    });
    return run.immediate();
  }

  /** Records a notification (the original NetAlertX `write_notification`): shown to operators, kept in the store. */
  notify(module: string, level: 'info' | 'alert', text: string): void {
    this.insertNotification.run(new Date().toISOString(), module, level, text);
  }

  listNotifications(module: string, opts: { limit?: number; afterId?: number } = {}) {
    return this.db
      .prepare(
        'SELECT id, created_at AS time, level, text FROM notifications WHERE module = ? AND id > ? ORDER BY id DESC LIMIT ?',
      )
      .all(module, opts.afterId ?? 0, Math.min(opts.limit ?? 100, 1000)) as Array<{
      id: number;
      time: string;
      level: 'info' | 'alert';
      text: string;
    }>;
  }

  /**
   * Deletes notifications created before `before`, in batches; returns how many. (The server's
   * retention job runs the same statement on the writer thread: src/core/writes.ts.)
   */
  pruneNotifications(before: Date): number {
    const del = this.db.prepare(PRUNE_NOTIFICATIONS);
    let total = 0;
    for (;;) {
      const n = del.run(before.toISOString()).changes;
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }

  /** true when the database answers a trivial query */
  ping(): boolean {
    try {
      return this.db.prepare('SELECT 1 AS ok').get() !== undefined;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
