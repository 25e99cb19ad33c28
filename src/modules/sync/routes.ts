/**
 * The NetAlertX /sync surface: GET /sync (node), POST /sync (hub), GET /sync/devices and
 * GET /sync/notifications. Own error shape; 403, 404, 415 and 422 bodies as NetAlertX's.
 */
import formbody from '@fastify/formbody';
import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { bearerToken, queryParam, safeEqual } from '../../core/auth.js';
import { HttpError, installErrorFormat, StoreUnavailableError, type Classified } from '../../core/errors.js';
import { Readable } from 'node:stream';
import {
  devicesQuery,
  errorAnswer,
  FORBIDDEN,
  getAnswer,
  NOT_FOUND,
  notificationsQuery,
  postAnswer,
  postBody,
  UNSUPPORTED,
} from './schemas.js';
import { deviceOut, netalertxTime } from './devices-out.js';
import { StoreFailedError } from './receiver.js';
import type { SyncHub } from './service.js';
import { matchesIfNoneMatch, ServedDevices, type ServedAnswer } from './served.js';
import { TAG } from './text.js';

/**
 * The module's error shape, as NetAlertX's: 403 exactly, 404 `API route not found`, 415 as 26.2+
 * (`Invalid Content-Type`), everything else `{"success": false, "error": "..."}`.
 */
export function syncShape(c: Classified): unknown {
  if (c.statusCode === 403) return FORBIDDEN;
  if (c.statusCode === 404) return NOT_FOUND;
  if (c.statusCode === 415) return UNSUPPORTED;
  if (c.validation) {
    return {
      success: false,
      error: c.validation.map((v) => `${v.loc.slice(1).join('.') || v.loc[0]}: ${v.msg}`).join('; '),
    };
  }
  return { success: false, error: c.message };
}

const isJson = (req: FastifyRequest) => /^application\/json\b/i.test(req.headers['content-type'] ?? '');

/** A JSON POST /sync that does not validate: 422 with 26.6's body (`details` as the issues). */
function jsonProblem(body: unknown): { success: false; error: string; details: unknown[] } | undefined {
  const r = postBody.safeParse(body);
  if (r.success) return undefined;
  const details = r.error.issues.map((i) => ({
    loc: ['body', ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    msg: i.message,
    type: i.code,
  }));
  const missingData = !body || typeof body !== 'object' || (body as { data?: unknown }).data === undefined;
  const error = missingData
    ? "Missing required 'data'"
    : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  return { success: false, error, details };
}

/**
 * "Data sent" notifications, one per answer as the original writes them, but committed together at
 * most once a second (and at close), by the writer thread: one commit per GET would be an fsync each.
 */
function sentNotes(scope: FastifyInstance, hub: SyncHub): () => void {
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = async () => {
    timer = undefined;
    const n = queued;
    queued = 0;
    if (n === 0) return;
    try {
      await hub.notify(
        'info',
        Array.from({ length: n }, () => `${TAG} Data sent`),
      );
    } catch (err) {
      scope.log.error({ err }, 'sync: writing "Data sent" notifications failed');
    }
  };
  scope.addHook('onClose', async () => {
    if (timer) clearTimeout(timer);
    await flush();
  });
  return () => {
    queued++;
    timer ??= setTimeout(() => void flush(), 1000);
  };
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
  // no text/plain parser: a text body is a 415 like every other type the hub does not read
  scope.removeContentTypeParser('text/plain');
  const served = new ServedDevices(hub.db, {
    extraKeys: cfg.serveExtraKeys,
    passphrase: cfg.serveEncrypted ? cfg.encryptionKey : '',
  });
  const dataSent = sentNotes(scope, hub);

  // NetAlertX: `Authorization: Bearer <API_TOKEN>` or `?token=`; no token configured = nobody.
  scope.addHook('onRequest', async (req, reply) => {
    if (safeEqual(bearerToken(req), cfg.apiToken) || safeEqual(queryParam(req, 'token'), cfg.apiToken)) return;
    return reply.code(403).type('application/json').send(FORBIDDEN);
  });
  // Flask's jsonify: `application/json`, no charset parameter
  scope.addHook('onSend', async (_req, reply, payload) => {
    const ct = reply.getHeader('content-type');
    if (typeof ct === 'string' && ct.startsWith('application/json;')) reply.header('content-type', 'application/json');
    return payload;
  });
  // multipart is parsed by busboy, outside Fastify's bodyLimit: refuse a declared oversize body up front
  scope.addHook('preParsing', async (req) => {
    const len = Number(req.headers['content-length']);
    if (Number.isFinite(len) && len > limit)
      throw new HttpError(413, `Request body is too large (limit ${limit} bytes)`);
  });

  await scope.register(formbody, { bodyLimit: limit });
  await scope.register(multipart, {
    attachFieldsToBody: true,
    async onFile(part: MultipartFile & { value?: unknown }) {
      part.value = (await part.toBuffer()).toString('utf8');
    },
    limits: {
      fieldNameSize: 100,
      fieldSize: limit,
      fileSize: limit,
      fields: 10,
      files: 4,
      parts: 14,
      headerPairs: 100,
    },
  });

  const app = scope.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];

  app.get(
    '/',
    {
      exposeHeadRoute: false, // a HEAD must not count as "Data sent"
      schema: {
        summary: 'NetAlertX node: this instance devices as base64 JSON (ETag / If-None-Match)',
        tags: ['sync'],
        security,
        response: { 200: getAnswer, 500: errorAnswer },
      },
    },
    async (req, reply) => {
      let ans: ServedAnswer;
      try {
        const now = await served.etagNow();
        if (matchesIfNoneMatch(req.headers['if-none-match'], now))
          return (reply as FastifyReply).code(304).header('etag', now).send();
        ans = await served.answer();
      } catch (err) {
        // PostgreSQL unreachable: 503 + Retry-After in this module's shape (core's classifier), not a 500
        if (err instanceof StoreUnavailableError) throw err;
        req.log.error({ err }, 'sync: GET /sync failed');
        const msg = `${TAG} Failed to read the devices table`;
        // the store itself may be failing; the log line above says why
        await hub.notify('alert', msg).catch(() => undefined);
        return reply.code(500).send({ error: msg });
      }
      dataSent();
      const head = Buffer.from(
        `{"node_name":${JSON.stringify(cfg.nodeName)},"status":200,"message":"OK","data_base64":"`,
        'utf8',
      );
      const tail = Buffer.from(`","timestamp":"${netalertxTime()}"}`, 'latin1');
      reply
        .header('content-type', 'application/json')
        .header('etag', ans.etag)
        .header('content-length', head.length + ans.bytes + tail.length);
      return (reply as FastifyReply).send(Readable.from([head, ...ans.pieces, tail], { objectMode: false }));
    },
  );

  app.post(
    '/',
    {
      bodyLimit: limit,
      preValidation: async (req, reply) => {
        if (isJson(req)) {
          const problem = jsonProblem(req.body);
          if (problem) return (reply as FastifyReply).code(422).type('application/json').send(problem);
        }
        flattenMultipart(req, limit);
      },
      schema: {
        summary:
          'NetAlertX hub: receive a node payload (JSON as 26.6+ nodes, form-urlencoded or multipart as older ones)',
        tags: ['sync'],
        security,
        consumes: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
        body: postBody,
        response: { 200: postAnswer },
      },
    },
    async (req) => {
      const b = req.body;
      await hub
        .receive({ plugin: b.plugin, node: b.node_name, data: b.data, source: 'post', clientFilePath: b.file_path })
        .catch((e: unknown) => {
          throw e instanceof StoreFailedError ? new HttpError(500, e.message) : e;
        });
      const message = 'Data received and stored successfully';
      // JSON is what 26.2+ hubs take; their API answers carry `success`. A form is 26.1's, answered as 26.1 does.
      return isJson(req) ? { success: true as const, message } : { message };
    },
  );

  app.get(
    '/devices',
    { schema: { summary: 'The hub devices, filtered and paged', tags: ['sync'], security, querystring: devicesQuery } },
    async (req) => {
      const q = req.query;
      const { total, items } = await hub.db.listDevices({
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
        devices: items.map((r) => ({ ...deviceOut(r), hubFirstSeen: r.created_at, hubUpdated: r.updated_at })),
      };
    },
  );

  app.get(
    '/notifications',
    {
      schema: {
        summary: 'Sync notifications, newest first',
        tags: ['sync'],
        security,
        querystring: notificationsQuery,
      },
    },
    async (req) => {
      const opts = { limit: req.query.limit, afterId: req.query.after_id };
      const pg = scope.pg;
      return {
        success: true,
        notifications: pg ? await pg.listNotifications('sync', opts) : scope.store.listNotifications('sync', opts),
      };
    },
  );
}
