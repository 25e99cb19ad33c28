/**
 * The Conduit HTTP API v6 at /conduitv6 (and /conduitv6/): GET queries datapoints, POST ingests
 * them, PUT updates metadata, DELETE removes datapoints; X-HTTP-Method-Override on a POST acts
 * as PUT or DELETE. Token, enabled switches and the throttle are checked before the body is read.
 */
import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { apiKey } from '../../core/auth.js';
import type { Config } from '../../core/config.js';
import type { DB } from '../../core/db.js';
import { HttpError, installErrorFormat, type Classified } from '../../core/errors.js';
import type { Metrics } from '../../core/metrics.js';
import { installBodyParser } from './body.js';
import { GroupCommit } from './group-commit.js';
import {
  ingestSchema,
  metadataSchema,
  parseChs,
  parseIds,
  parseRange,
  querySchema,
  zodMessage,
  type Datapoint,
  type Query,
} from './schemas.js';
import { serializePoints } from './serialize.js';
import { uplinkPoints } from './uplink.js';
import type { ConduitQuery } from './query.js';
import type { ConduitStore } from './store.js';
import type { Throttle } from './throttle.js';
import type { AuthUser, Users } from './users.js';

export const PREFIX = '/conduitv6';
/** the documented uplink path, under PREFIX */
export const UPLINK_PATH = '/uplink';
export const TRUNCATED_HEADER = 'x-conduit-truncated';
export const NEXT_HEADER = 'x-conduit-next-fcdt';
const ALLOW = 'GET, POST, PUT, DELETE';

/** An HttpError that also sets response headers (Retry-After, Allow). */
class ConduitError extends HttpError {
  constructor(
    statusCode: number,
    message: string,
    override readonly headers: Record<string, string>,
  ) {
    super(statusCode, message);
  }
}

/** `{"code": "<status>", "error": "<reason>"}`, the spec's error body */
export function conduitShape(c: Classified): { code: string; error: string } {
  if (c.statusCode === 415 && c.message === 'Unsupported Media Type') {
    return { code: '415', error: 'a request body needs Content-Type: application/json' }; // Fastify's own, before any parser
  }
  return { code: String(c.statusCode), error: c.statusCode >= 500 ? c.error : c.message };
}

export interface ApiDeps {
  config: Config['conduit'];
  store: ConduitStore;
  query: ConduitQuery;
  users: Users;
  throttle: Throttle;
  metrics: Metrics;
  db: DB;
  /** unix seconds, for the default time range */
  now?: () => number;
}

const ok = z.object({ code: z.literal('200') });

export function conduitApi(deps: ApiDeps) {
  const { config, store, query, users, throttle } = deps;
  const nowSeconds = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const ingested = deps.metrics.counter(
    'fieldhub_conduit_datapoints_ingested_total',
    'Datapoints accepted by POST /conduitv6',
  );
  const returned = deps.metrics.counter(
    'fieldhub_conduit_datapoints_returned_total',
    'Datapoints answered by GET /conduitv6',
  );
  const refused = deps.metrics.counter('fieldhub_conduit_throttled_total', 'Requests refused by the conduit throttle');
  const userOf = new WeakMap<FastifyRequest, AuthUser>();
  const commits = new GroupCommit<{ user: number; points: Datapoint[] }>(deps.db, (a) =>
    store.ingest(a.user, a.points),
  );
  const uplinks = new GroupCommit<{ user: number; points: Datapoint[] }>(deps.db, (a) =>
    store.ingest(a.user, a.points, { uplink: { autoCreate: config.autoCreateDevices } }),
  );

  function authWith(req: FastifyRequest, token: string | undefined): void {
    if (!token)
      throw new HttpError(401, 'missing token: send it in the X-Api-Key header (or Token header, or token argument)');
    const user = users.byToken(token);
    if (!user) throw new HttpError(401, 'unknown token');
    if (!user.enabled) throw new HttpError(403, 'conduit is disabled for this user');
    if (!user.http_api) throw new HttpError(403, 'the HTTP API service is switched off for this user');
    const wait = throttle.take(user.id, user.throttle_seconds ?? config.throttleSeconds);
    if (wait > 0) {
      refused.inc();
      const s = Math.max(1, Math.ceil(wait));
      throw new ConduitError(
        429,
        `Too Many Requests: one request every ${user.throttle_seconds ?? config.throttleSeconds} s, retry in ${s} s`,
        {
          'retry-after': String(s),
        },
      );
    }
    userOf.set(req, user);
  }

  /** onRequest: a token in a header or the query is checked before the body is read */
  async function authenticate(req: FastifyRequest): Promise<void> {
    const token = apiKey(req);
    // an uplink may carry its token in the body (AlphaX allows it): checked in the preHandler
    if (!token && req.method === 'POST') return;
    authWith(req, token);
  }

  /** preHandler: the body's token, for a POST that had none in headers or query */
  async function bodyToken(req: FastifyRequest): Promise<void> {
    if (userOf.has(req)) return;
    const b = req.body as { token?: unknown } | undefined;
    const token = b && typeof b === 'object' && !Array.isArray(b) && typeof b.token === 'string' ? b.token : undefined;
    authWith(req, token);
  }

  function get(req: FastifyRequest, reply: FastifyReply) {
    const user = userOf.get(req)!;
    const q = req.query as Query;
    const ids = parseIds(q.id);
    const chs = parseChs(q.ch);
    const { from, to } = parseRange(q, nowSeconds());
    const max = config.maxDatapoints;
    const rows = query.points(user.id, { ids, chs, from, to, limit: max + 1 });
    if (rows.length === 0) {
      if (config.emptyStatus === 200) return reply.type('application/json; charset=utf-8').send('[]');
      return reply.code(config.emptyStatus).send();
    }
    if (rows.length > max) {
      reply.header(TRUNCATED_HEADER, 'true').header(NEXT_HEADER, String(rows[max]![2]));
      rows.length = max;
    }
    returned.inc(rows.length);
    return reply.type('application/json; charset=utf-8').send(serializePoints(rows, (d, c) => query.meta(d, c)));
  }

  /** an AlphaX uplink (V1 or V2 JSON object): one device, one timestamp */
  async function uplink(req: FastifyRequest) {
    if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new HttpError(
        400,
        'an uplink is a JSON object {networkId, timestamp, data} (Content-Type: application/json)',
      );
    }
    const points = uplinkPoints(req.body, Date.now());
    const n = await uplinks.submit({ user: userOf.get(req)!.id, points });
    ingested.inc(n);
    return { code: '200' as const, accepted: n };
  }

  async function ingest(req: FastifyRequest) {
    if (req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)) return uplink(req);
    if (req.body === undefined)
      throw new HttpError(400, 'a JSON array of datapoints is required (Content-Type: application/json)');
    const parsed = ingestSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, zodMessage(parsed.error, 'body'));
    const n = await commits.submit({ user: userOf.get(req)!.id, points: parsed.data });
    ingested.inc(n);
    return { code: '200' as const, accepted: n };
  }

  function put(req: FastifyRequest) {
    const q = req.query as Query;
    const ids = parseIds(q.id);
    if (!ids) throw new HttpError(400, 'id is required');
    const chs = parseChs(q.ch);
    if (req.body === undefined)
      throw new HttpError(400, 'a JSON object of metadata fields is required (Content-Type: application/json)');
    const parsed = metadataSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, zodMessage(parsed.error, 'body'));
    return { code: '200' as const, updated: store.updateMetadata(userOf.get(req)!.id, ids, chs, parsed.data) };
  }

  function del(req: FastifyRequest) {
    const q = req.query as Query;
    const ids = parseIds(q.id);
    if (!ids) throw new HttpError(400, 'id is required');
    const chs = parseChs(q.ch);
    const { from, to } = parseRange(q, nowSeconds(), true);
    return { code: '200' as const, deleted: store.deletePoints(userOf.get(req)!.id, ids, chs, from, to) };
  }

  async function post(req: FastifyRequest) {
    const h = req.headers['x-http-method-override'];
    const override = (Array.isArray(h) ? h[0] : h)?.trim().toUpperCase();
    if (!override || override === 'POST') return ingest(req);
    if (override === 'PUT') return put(req);
    if (override === 'DELETE') return del(req);
    throw new ConduitError(405, `X-HTTP-Method-Override: ${override.slice(0, 20)} is not allowed (PUT or DELETE)`, {
      allow: ALLOW,
    });
  }

  return async function plugin(scope: FastifyInstance): Promise<void> {
    installErrorFormat(scope, conduitShape);
    // request bodies are inflated by body.ts (with a cap), never by @fastify/compress
    scope.addHook('onRoute', (r) => {
      r.decompress = false;
    });
    await scope.register(compress, { global: true, threshold: 1024, encodings: ['gzip'] });
    installBodyParser(scope, config.maxBodyBytes);
    const api = scope.withTypeProvider<ZodTypeProvider>();
    const common = {
      onRequest: authenticate,
      preHandler: bodyToken,
      schema: { querystring: querySchema, tags: ['conduit'], security: [{ apiKey: [] }] },
    };
    api.get(
      '/',
      { ...common, schema: { ...common.schema, summary: 'datapoints (at most conduit.maxDatapoints, by time)' } },
      get,
    );
    api.post(
      '/',
      {
        ...common,
        schema: { ...common.schema, summary: 'ingest a JSON array of datapoints (X-HTTP-Method-Override: PUT|DELETE)' },
      },
      post,
    );
    api.post(
      UPLINK_PATH,
      {
        ...common,
        schema: {
          ...common.schema,
          summary: 'an AlphaX uplink, Data Format V1 (data: hex) or V2 (data: [{channelId, value}])',
        },
      },
      uplink,
    );
    api.put(
      '/',
      {
        ...common,
        schema: {
          ...common.schema,
          summary: 'update device (id) or channel (id, ch) metadata',
          response: { 200: ok.extend({ updated: z.number() }) },
        },
      },
      put,
    );
    api.delete(
      '/',
      {
        ...common,
        schema: {
          ...common.schema,
          summary: 'delete datapoints of id (and ch) in fcdt..tcdt',
          response: { 200: ok.extend({ deleted: z.number() }) },
        },
      },
      del,
    );
    const others = scope.supportedMethods.filter((m) => !['GET', 'HEAD', 'POST', 'PUT', 'DELETE'].includes(m));
    scope.route({
      method: others,
      url: '/',
      schema: { hide: true },
      onRequest: async () => {
        throw new ConduitError(405, 'Method Not Allowed', { allow: ALLOW });
      },
      handler: async () => undefined,
    });
  };
}
