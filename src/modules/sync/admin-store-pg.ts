/** SyncAdminReads on PostgreSQL (admin-store.ts is SQLite's): the same answers, the same field names. */
import type { PgStore } from '../../core/pg.js';
import type { Page, Paging } from '../../core/paging.js';
import type { NodeSummary, SyncAdminReads } from './admin-store.js';
import type { SyncNotification } from './notifications.js';

const UNREAD = `n.module = 'sync' AND NOT EXISTS (SELECT 1 FROM sync_notifications_read r WHERE r.id = n.id)`;
const FILTER = '($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR node = $2)';

export class SyncAdminStorePg implements SyncAdminReads {
  readonly notifications;

  constructor(private readonly pg: PgStore) {
    this.notifications = {
      list: async (limit: number): Promise<SyncNotification[]> => {
        const r = await pg.query<{ id: string; time: Date; level: 'info' | 'alert'; text: string; read: boolean }>(
          `SELECT n.id, n.created_at AS time, n.level, n.text, (r.id IS NOT NULL) AS read
           FROM notifications n LEFT JOIN sync_notifications_read r ON r.id = n.id
           WHERE n.module = 'sync' ORDER BY n.id DESC LIMIT $1`,
          [limit],
        );
        return r.rows.map((n) => ({ ...n, id: Number(n.id), time: n.time.toISOString() }));
      },
      unread: async () => {
        const r = await pg.query<{ unread: number; alerts: number }>(
          `SELECT COUNT(*)::int AS unread, COUNT(*) FILTER (WHERE n.level = 'alert')::int AS alerts
           FROM notifications n WHERE ${UNREAD}`,
        );
        return { unread: r.rows[0]!.unread, unreadAlerts: r.rows[0]!.alerts };
      },
    };
  }

  async nodes(): Promise<NodeSummary[]> {
    const r = await this.pg.query<NodeSummary>(
      `SELECT node, MAX(received_at) AS "lastReceivedAt", COUNT(*)::int AS payloads,
         COUNT(*) FILTER (WHERE status = 'failed')::int AS failed
       FROM sync_received GROUP BY node ORDER BY node`,
    );
    return r.rows;
  }

  async payloadPage(filter: { status: string | null; node: string | null }, p: Paging): Promise<Page<unknown>> {
    const args = [filter.status, filter.node];
    const [count, page] = await Promise.all([
      this.pg.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM sync_received WHERE ${FILTER}`, args),
      this.pg.query<{ id: string }>(
        `SELECT id, plugin, node, seq, source, received_at AS "receivedAt", bytes, status, error,
           processed_at AS "processedAt", items
         FROM sync_received WHERE ${FILTER} ORDER BY id DESC LIMIT $3 OFFSET $4`,
        [...args, p.limit ?? null, p.offset],
      ),
    ]);
    return { total: count.rows[0]!.n, items: page.rows.map((r) => ({ ...r, id: Number(r.id) })) };
  }

  async countByStatus(): Promise<Record<string, number>> {
    const r = await this.pg.query<{ status: string; n: number }>(
      'SELECT status, COUNT(*)::int AS n FROM sync_received GROUP BY status',
    );
    return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
  }

  async alertsSince(since: Date): Promise<number> {
    const r = await this.pg.query<{ n: number }>(
      "SELECT COUNT(*)::int AS n FROM notifications WHERE module = 'sync' AND level = 'alert' AND created_at >= $1",
      [since],
    );
    return r.rows[0]!.n;
  }
}
