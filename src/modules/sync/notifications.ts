/**
 * The sync module's notifications with their read state: the rows are core's `notifications`
 * (module 'sync'); the read marks are sync's own table `sync_notifications_read` (migration 3), removed
 * with their notification when the core prunes it.
 */
import type { DB } from '../../core/db.js';

export interface SyncNotification {
  id: number;
  time: string;
  level: 'info' | 'alert';
  text: string;
  read: boolean;
}

type Row = Omit<SyncNotification, 'read'> & { read: 0 | 1 };
const UNREAD = `n.module = 'sync' AND NOT EXISTS (SELECT 1 FROM sync_notifications_read r WHERE r.id = n.id)`;

export class SyncNotifications {
  private readonly listStmt;
  private readonly unreadStmt;
  private readonly existsStmt;
  private readonly markStmt;
  private readonly markAllStmt;

  constructor(db: DB) {
    this.listStmt = db.prepare<[number], Row>(
      `SELECT n.id, n.created_at AS time, n.level, n.text, (r.id IS NOT NULL) AS read
       FROM notifications n LEFT JOIN sync_notifications_read r ON r.id = n.id
       WHERE n.module = 'sync' ORDER BY n.id DESC LIMIT ?`,
    );
    this.unreadStmt = db.prepare<[], { unread: number; alerts: number }>(
      `SELECT COUNT(*) AS unread, COALESCE(SUM(n.level = 'alert'), 0) AS alerts FROM notifications n WHERE ${UNREAD}`,
    );
    this.existsStmt = db
      .prepare<[number], number>("SELECT 1 FROM notifications WHERE id = ? AND module = 'sync'")
      .pluck();
    this.markStmt = db.prepare<[number, string]>(
      'INSERT OR IGNORE INTO sync_notifications_read (id, read_at) VALUES (?, ?)',
    );
    this.markAllStmt = db.prepare<[string, number]>(
      `INSERT OR IGNORE INTO sync_notifications_read (id, read_at)
       SELECT n.id, ? FROM notifications n WHERE n.id <= ? AND ${UNREAD}`,
    );
  }

  /** Newest first, each with its read state. */
  list(limit: number): SyncNotification[] {
    return this.listStmt.all(limit).map((r) => ({ ...r, read: r.read === 1 }));
  }

  /** How many are unread, and how many of those are alerts. */
  unread(): { unread: number; unreadAlerts: number } {
    const r = this.unreadStmt.get()!;
    return { unread: r.unread, unreadAlerts: r.alerts };
  }

  /** Marks one read; false when there is no sync notification with this id. Marking twice is no error. */
  markRead(id: number, now = new Date()): boolean {
    if (this.existsStmt.get(id) === undefined) return false;
    this.markStmt.run(id, now.toISOString());
    return true;
  }

  /** Marks every unread one with an id up to `upToId` (all when absent) read; returns how many. */
  markAllRead(upToId = Number.MAX_SAFE_INTEGER, now = new Date()): number {
    return this.markAllStmt.run(now.toISOString(), upToId).changes;
  }
}
