/**
 * The NetAlertX /sync surface: GET /sync (node), POST /sync (hub), GET /sync/devices and
 * GET /sync/notifications. Own error shape; 403 exactly as NetAlertX's.
 */
import formbody from '@fastify/formbody';
import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { bearerToken, queryParam, safeEqual } from '../../core/auth.js';
import { HttpError, installErrorFormat, type Classified } from '../../core/errors.js';
import { devicesQuery, errorAnswer, FORBIDDEN, getAnswer, notificationsQuery, postAnswer, postBody } from './schemas.js';
import { deviceOut, devicesJson } from './devices-out.js';
import type { SyncHub } from './hub.js';

/** ISO 8601 in local time with the UTC offset, e.g. 2025-08-24T10:15:00+10:00 (as NetAlertX's timestamp). */
export function isoLocal(d = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${off >= 0 ? '+' : '-'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** The module's error shape: 403 as NetAlertX, everything else `{"success": false, "error": "..."}`. */
export function syncShape(c: Classified): unknown {
  if (c.statusCode === 403) return FORBIDDEN;
  if (c.validation) {
    return { success: false, error: c.validation.map((v) => `${v.loc.slice(1).join('.') || v.loc[0]}: ${v.msg}`).join('; ') };
  }
  return { success: false, error: c.message };
}

interface PartLike {
  type?: string;
  value?: unknown;
  valueTruncated?: boolean;
}

/** multipart bodies arrive as parts; turn them into plain string fields like the form-urlencoded ones. */
function flattenMultipart(req: FastifyRequest, limit: number): void {
  if (!req.isMultipart() || !req.body || typeof req.body !== 'object') return;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.body as Record<string, PartLike | PartLike[]>)) {
    const vals = (Array.isArray(v) ? v : [v]).map((p) => {
      if (p.valueTruncated) throw new HttpError(413, `field ${k} is larger than ${limit} bytes`);
      const val = p.value;
      return typeof val === 'string' ? val : Buffer.isBuffer(val) ? val.toString('utf8') : JSON.stringify(val);
    });
    out[k] = vals.length === 1 ? vals[0] : vals;
  }
  req.body = out;
}

export async function syncRoutes(scope: FastifyInstance, hub: SyncHub): Promise<void> {
  const cfg = scope.config.sync;
  const limit = cfg.bodyLimitBytes;
  installErrorFormat(scope, syncShape);

  // NetAlertX: `Authorization: Bearer <API_TOKEN>` or `?token=`; no token configured = nobody.
  scope.addHook('onRequest', async (req, reply) => {
    if (safeEqual(bearerToken(req), cfg.apiToken) || safeEqual(queryParam(req, 'token'), cfg.apiToken)) return;
    return reply.code(403).type('application/json; charset=utf-8').send(FORBIDDEN);
  });
  // multipart is parsed by busboy, outside Fastify's bodyLimit: refuse a declared oversize body up front
  scope.addHook('preParsing', async (req) => {
    const len = Number(req.headers['content-length']);
    if (Number.isFinite(len) && len > limit) throw new HttpError(413, `Request body is too large (limit ${limit} bytes)`);
  });

  await scope.register(formbody, { bodyLimit: limit });
  await scope.register(multipart, {
    attachFieldsToBody: true,
    async onFile(part: MultipartFile & { value?: unknown }) {
      part.value = (await part.toBuffer()).toString('utf8');
    },
    limits: { fieldNameSize: 100, fieldSize: limit, fileSize: limit, fields: 10, files: 4, parts: 14, headerPairs: 100 },
  });

  const app = scope.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];

  app.get(
    '/',
    {
      exposeHeadRoute: false, // a HEAD must not count as "Data sent"
      schema: {
        summary: 'NetAlertX node: this instance devices as base64 JSON',
        tags: ['sync'],
        security,
        response: { 200: getAnswer, 500: errorAnswer },
      },
    },
    async (req, reply) => {
      try {
        const json = devicesJson(hub.db);
        scope.store.notify('sync', 'info', '[Plugin: SYNC] Data sent');
        return reply.send({
          node_name: cfg.nodeName,
          status: 200,
          message: 'OK',
          data_base64: Buffer.from(json, 'utf8').toString('base64'),
          timestamp: isoLocal(),
        });
      } catch (err) {
        req.log.error({ err }, 'sync: GET /sync failed');
        const msg = '[Plugin: SYNC] Failed to read the devices table';
        try {
          scope.store.notify('sync', 'alert', msg);
        } catch {
          // the store itself is failing; the log line above says why
        }
        return reply.code(500).send({ error: msg });
      }
    },
  );

  app.post(
    '/',
    {
      bodyLimit: limit,
      preValidation: async (req) => flattenMultipart(req, limit),
      schema: {
        summary: 'NetAlertX hub: receive a node payload (form-urlencoded or multipart)',
        tags: ['sync'],
        security,
        consumes: ['application/x-www-form-urlencoded', 'multipart/form-data'],
        body: postBody,
        response: { 200: postAnswer },
      },
    },
    async (req) => {
      const b = req.body;
      await hub.receive({ plugin: b.plugin, node: b.node_name, data: b.data, source: 'post', clientFilePath: b.file_path });
      return { message: 'Data received and stored successfully' };
    },
  );

  app.get(
    '/devices',
    { schema: { summary: 'The hub devices, filtered and paged', tags: ['sync'], security, querystring: devicesQuery } },
    async (req) => {
      const q = req.query;
      const { total, rows } = hub.db.listDevices({
        node: q.node,
        mac: q.mac?.trim().toLowerCase(),
        since: q.since ? new Date(q.since).toISOString() : undefined,
        limit: q.limit,
        offset: q.offset,
      });
      return {
        success: true,
        total,
        limit: q.limit,
        offset: q.offset,
        devices: rows.map((r) => ({ ...deviceOut(r), hubFirstSeen: r.created_at, hubUpdated: r.updated_at })),
      };
    },
  );

  app.get(
    '/notifications',
    { schema: { summary: 'Sync notifications, newest first', tags: ['sync'], security, querystring: notificationsQuery } },
    async (req) => ({
      success: true,
      notifications: scope.store.listNotifications('sync', { limit: req.query.limit, afterId: req.query.after_id }),
    }),
  );
}
