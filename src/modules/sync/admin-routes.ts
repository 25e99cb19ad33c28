/**
 * /admin/sync reads for operators and the console: health (the tile), nodes and hub with their last
 * successful pull/push/post and last error, notifications (mark read), received payloads (paged).
 */
import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import type { ZodApp } from '../../core/module.js';
import { pageFields } from '../../core/paging.js';

import { PeerStatus, type PeerState } from './peer-status.js';
import type { SyncAdminReads } from './admin-store.js';
import type { SyncWrite } from './writes.js';

const pageQuery = z
  .object({
    status: z.enum(['received', 'processed', 'failed', 'lost']).optional(),
    node: z.string().max(200).optional(),
    ...pageFields({ max: 1000, default: 50 }),
  })
  .strict();
const tags = ['sync'];
const notification = z.object({
  id: z.number(),
  time: z.string(),
  level: z.enum(['info', 'alert']),
  text: z.string(),
  read: z.boolean(),
});

export function syncReadRoutes(
  db: SyncAdminReads,
  status: PeerStatus,
  cfg: { pullNodes: string[]; hubUrl?: string; staleMinutes: number },
  /** the mark-read writes (writer thread) */
  write: SyncWrite,
) {
  const notes = db.notifications;

  const peers = (): PeerState[] => {
    const out: PeerState[] = cfg.pullNodes.map(
      (u) =>
        status.peers.get(`${u.replace(/\/+$/, '')}/sync`) ?? {
          peer: `${u.replace(/\/+$/, '')}/sync`,
          role: 'pulled node',
          lastAttemptAt: null,
          lastSuccessAt: null,
          lastError: null,
        },
    );
    if (cfg.hubUrl)
      out.push(
        [...status.peers.values()].find((p) => p.role === 'hub') ?? {
          peer: cfg.hubUrl,
          role: 'hub',
          lastAttemptAt: null,
          lastSuccessAt: null,
          lastError: null,
        },
      );
    return out;
  };

  return (admin: ZodApp) => {
    admin.get(
      '/health',
      {
        schema: {
          tags,
          summary: 'green / amber / red with the reasons: failing or stale nodes and hub, failed payloads',
        },
      },
      async () => {
        const now = Date.now();
        const staleMs = cfg.staleMinutes * 60_000;
        const reasons: string[] = [];
        let red = 0;
        let amber = 0;
        for (const p of peers()) {
          if (p.lastError) {
            red++;
            reasons.push(`${p.role} ${p.peer}: last ${p.role === 'hub' ? 'push' : 'pull'} failed: ${p.lastError}`);
          } else if (p.lastSuccessAt && now - Date.parse(p.lastSuccessAt) > staleMs) {
            amber++;
            reasons.push(
              `${p.role} ${p.peer}: no successful ${p.role === 'hub' ? 'push' : 'pull'} for more than ${cfg.staleMinutes} min`,
            );
          }
        }
        const nodes = await db.nodes();
        for (const n of nodes) {
          if (now - Date.parse(n.lastReceivedAt) > staleMs && !cfg.pullNodes.length) {
            amber++;
            reasons.push(`node ${n.node}: nothing received for more than ${cfg.staleMinutes} min`);
          }
        }
        const counts = await db.countByStatus();
        if (counts.failed) {
          amber++;
          reasons.push(`${counts.failed} payload(s) failed to process`);
        }
        const alerts24h = await db.alertsSince(new Date(now - 86_400_000));
        const unread = await notes.unread();
        const status = red ? 'red' : amber ? 'amber' : 'green';
        if (!reasons.length) reasons.push(`${nodes.length} node(s); nothing failing`);
        return {
          module: 'sync',
          status,
          reasons,
          counts: { nodes: nodes.length, peers: peers().length, alerts24h, ...unread, payloads: counts },
        };
      },
    );

    admin.get(
      '/nodes',
      {
        schema: {
          tags,
          summary: 'Pulled nodes and hub (last success, last error) and the nodes seen in received payloads',
        },
      },
      async () => ({
        peers: peers(),
        nodes: await db.nodes(),
      }),
    );

    admin.get(
      '/payloads',
      { schema: { tags, summary: 'Received payloads with their state, newest first, paged', querystring: pageQuery } },
      async (req) => {
        const filter = { status: req.query.status ?? null, node: req.query.node ?? null };
        const { total, items } = await db.payloadPage(filter, req.query);
        return { total, payloads: items };
      },
    );

    admin.get(
      '/notifications',
      {
        schema: {
          tags,
          summary: "The sync module's notifications, newest first, each with its read state; the unread counts",
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict(),
          response: {
            200: z.object({ notifications: z.array(notification), unread: z.number(), unreadAlerts: z.number() }),
          },
        },
      },
      async (req) => ({ notifications: await notes.list(req.query.limit), ...(await notes.unread()) }),
    );

    admin.post(
      '/notifications/:id/read',
      {
        schema: {
          tags,
          summary: 'Mark one sync notification read (marking it again is no error)',
          params: z.object({ id: z.coerce.number().int().min(1) }).strict(),
          response: { 200: z.object({ id: z.number(), read: z.literal(true) }) },
        },
      },
      async (req) => {
        const at = new Date().toISOString();
        if (!(await write('sync.markRead', { id: req.params.id, at })))
          throw new HttpError(404, `no sync notification ${req.params.id}`);
        return { id: req.params.id, read: true as const };
      },
    );

    admin.post(
      '/notifications/read',
      {
        schema: {
          tags,
          summary: 'Mark every unread sync notification read, or those up to upToId (the newest one the operator saw)',
          body: z
            .object({ upToId: z.number().int().min(1).optional() })
            .strict()
            .default({}),
          response: { 200: z.object({ marked: z.number() }) },
        },
      },
      async (req) => ({
        marked: await write('sync.markAllRead', { upToId: req.body.upToId, at: new Date().toISOString() }),
      }),
    );
  };
}
