/**
 * What the operator API reads of the sync tables (nodes, payloads, counts), and the notifications with
 * their read state: `SyncAdminReads` on either driver (admin-store-pg.ts is PostgreSQL's), SQLite here.
 */
import type { DB } from '../../core/db.js';
import { pageFromSql, type Page, type Paging } from '../../core/paging.js';
import { SyncNotifications, type SyncNotification } from './notifications.js';

type Maybe<T> = T | Promise<T>;

export interface NodeSummary {
  node: string;
  lastReceivedAt: string;
  payloads: number;
  failed: number;
}

export interface SyncAdminReads {
  nodes(): Maybe<NodeSummary[]>;
  payloadPage(filter: { status: string | null; node: string | null }, p: Paging): Maybe<Page<unknown>>;
  countByStatus(): Maybe<Record<string, number>>;
  alertsSince(since: Date): Maybe<number>;
  notifications: {
    list(limit: number): Maybe<SyncNotification[]>;
    unread(): Maybe<{ unread: number; unreadAlerts: number }>;
  };
}

export class SyncAdminStore implements SyncAdminReads {
  private readonly admin;
  /** the sync notifications with their read state (sync_notifications_read) */
  readonly notifications: SyncNotifications;

  constructor(db: DB) {
    this.notifications = new SyncNotifications(db);
    this.admin = {
      nodes: db.prepare<[], NodeSummary>(
        `SELECT node, MAX(received_at) AS lastReceivedAt, COUNT(*) AS payloads, SUM(status = 'failed') AS failed
         FROM sync_received GROUP BY node ORDER BY node`,
      ),
      page: db.prepare(
        `SELECT id, plugin, node, seq, source, received_at AS receivedAt, bytes, status, error, processed_at AS processedAt, items
         FROM sync_received WHERE (@status IS NULL OR status = @status) AND (@node IS NULL OR node = @node)
         ORDER BY id DESC LIMIT @limit OFFSET @offset`,
      ),
      count: db
        .prepare(
          'SELECT COUNT(*) FROM sync_received WHERE (@status IS NULL OR status = @status) AND (@node IS NULL OR node = @node)',
        )
        .pluck(),
      byStatus: db.prepare<[], { status: string; n: number }>(
        'SELECT status, COUNT(*) AS n FROM sync_received GROUP BY status',
      ),
      alertsSince: db
        .prepare<[string], number>(
          "SELECT COUNT(*) FROM notifications WHERE module = 'sync' AND level = 'alert' AND created_at >= ?",
        )
        .pluck(),
    };
  }

  /** Each node seen in received payloads: last received, payloads, failed. */
  nodes(): NodeSummary[] {
    return this.admin.nodes.all();
  }

  /** Received payloads, newest first, filtered by status and node (null: any). */
  payloadPage(filter: { status: string | null; node: string | null }, p: Paging): Page<unknown> {
    return pageFromSql(this.admin.count, this.admin.page, filter, p);
  }

  /** Received payloads per status. */
  countByStatus(): Record<string, number> {
    return Object.fromEntries(this.admin.byStatus.all().map((r) => [r.status, r.n]));
  }

  /** Sync alerts since `since`. */
  alertsSince(since: Date): number {
    return this.admin.alertsSince.get(since.toISOString())!;
  }
}
