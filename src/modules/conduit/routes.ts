/**
 * The peer-facing routes. `/conduitv6` (and `/conduitv6/`): GET queries datapoints, POST ingests
 * them (an array: the bulk format; an object: an AlphaX uplink), PUT updates metadata, DELETE
 * removes datapoints; X-HTTP-Method-Override on a POST acts as PUT or DELETE; `/conduitv6/uplink`
 * takes uplinks only. `/conduitv4/post` is the V4 webhook. Token, switches and the plan's limits
 * are checked before the body is read (a token in an uplink's body: right after it is read).
 */
import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { apiKey } from '../../core/auth.js';
import { HttpError, installErrorFormat, type Classified } from '../../core/errors.js';
import { requestSlot, type RequestSlot } from '../../core/routing.js';
import { installBodyParser, JsonText } from './body.js';
import { Refused, type RefusalKind } from './errors.js';
import {
  ingestSchema,
  metadataSchema,
  parseChs,
  parseIds,
  parseRange,
  querySchema,
  zodMessage,
  type Query,
} from './schemas.js';
import type { ConduitService } from './service.js';
import { webhookQuerySchema } from './uplink.js';
import type { AuthUser } from './users.js';

export const PREFIX = '/conduitv6';
/** the documented uplink path, under PREFIX */
export const UPLINK_PATH = '/uplink';
/** the V4 webhook: POST /conduitv4/post */
export const V4_PREFIX = '/conduitv4';
export const TRUNCATED_HEADER = 'x-conduit-truncated';
export const NEXT_HEADER = 'x-conduit-next-fcdt';
const ALLOW = 'GET, POST, PUT, DELETE';

const STATUS: Record<RefusalKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'range-too-long': 413,
  throttled: 429,
};

/** A domain refusal as the HttpError the scope's error format answers (429: with Retry-After). */
export function toHttp(e: unknown): unknown {
  if (!(e instanceof Refused)) return e;
  const headers = e.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(e.retryAfterSeconds) };
  return new HttpError(STATUS[e.kind], e.message, headers);
}

/** Registers `routes` in a child scope whose errors reach the parent's format as HttpErrors. */
export async function mapRefusals<S extends FastifyInstance>(scope: S, routes: (s: S) => void | Promise<void>) {
  await scope.register(async (inner) => {
    inner.setErrorHandler((err) => {
      throw toHttp(err);
    });
    await routes(inner as S);
  });
}

/** `{"code": "<status>", "error": "<reason>"}`, the spec's error body */
export function conduitShape(c: Classified): { code: string; error: string } {
  if (c.statusCode === 415 && c.message === 'Unsupported Media Type') {
    return { code: '415', error: 'a request body needs Content-Type: application/json' }; // Fastify's own, before any parser
  }
  return { code: String(c.statusCode), error: c.statusCode >= 500 ? c.error : c.message };
}

const ok = z.object({ code: z.literal('200') });
const accepted = ok.extend({ accepted: z.number() });

const isObject = (b: unknown): b is Record<string, unknown> =>
  b !== null && typeof b === 'object' && !Array.isArray(b) && !(b instanceof JsonText);
const kindOf = (req: FastifyRequest): 'read' | 'write' =>
  req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write';

const overrideOf = (req: FastifyRequest) => {
  const h = req.headers['x-http-method-override'];
  return (Array.isArray(h) ? h[0] : h)?.trim().toUpperCase();
};

/**
 * preValidation: a JSON array body is parsed now (a body that is not JSON answers 400 before the
 * query is validated and an uplink's token is looked for, as a parsed body would), except for the
 * bulk ingest of an authenticated request with a valid query: that one goes to the writer thread
 * as text (`deferred`).
 */
function parseUnlessDeferred(deferred: (req: FastifyRequest) => boolean) {
  // callback style: no promise per request
  return (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    if (!(req.body instanceof JsonText) || deferred(req)) return done();
    try {
      req.body = req.body.parse();
    } catch (e) {
      return done(e as Error);
    }
    done();
  };
}

/** onRequest + preHandler: the token of a header or the query before the body, of an uplink body after it */
function auth(svc: ConduitService, slot: RequestSlot<AuthUser>) {
  return {
    onRequest: async (req: FastifyRequest) => {
      const token = apiKey(req);
      if (!token && req.method === 'POST') return; // an uplink may carry its token in the body
      slot.set(req, await svc.authenticate(token, kindOf(req)));
    },
    preHandler: async (req: FastifyRequest) => {
      if (slot.get(req)) return;
      const token = isObject(req.body) && typeof req.body.token === 'string' ? req.body.token : undefined;
      slot.set(req, await svc.authenticate(token, kindOf(req)));
    },
  };
}

/** The Conduit API v6 scope (prefix PREFIX). */
export function conduitRoutes(svc: ConduitService, maxBodyBytes: number, emptyStatus: 200 | 204 | 304) {
  return async function plugin(scope: FastifyInstance): Promise<void> {
    installErrorFormat(scope, conduitShape);
    // request bodies are inflated by body.ts (with a cap), never by @fastify/compress
    scope.addHook('onRoute', (r) => {
      r.decompress = false;
    });
    await scope.register(compress, { global: true, threshold: 1024, encodings: ['gzip'] });
    installBodyParser(scope, maxBodyBytes);
    const slot = requestSlot<AuthUser>(scope, 'conduitUser');
    const user = (req: FastifyRequest) => slot.get(req)!;

    /** id, ch, fcdt/tcdt; `needId`: id first (400 without it), the range required (no "last hour" default) */
    const selection = (q: Query, needId = false) => {
      const ids = parseIds(q.id);
      if (needId && !ids) throw new HttpError(400, 'id is required');
      const chs = parseChs(q.ch);
      return { ids, chs, ...parseRange(q, svc.nowSeconds(), needId) };
    };
    const uplink = async (req: FastifyRequest) => {
      if (!isObject(req.body))
        throw new HttpError(
          400,
          'an uplink is a JSON object {networkId, timestamp, data} (Content-Type: application/json)',
        );
      return { code: '200' as const, accepted: await svc.uplink(user(req), req.body) };
    };
    const ingest = async (req: FastifyRequest) => {
      if (req.body instanceof JsonText)
        return { code: '200' as const, accepted: await svc.ingest(user(req), req.body.text) };
      if (isObject(req.body)) return uplink(req);
      if (req.body === undefined)
        throw new HttpError(400, 'a JSON array of datapoints is required (Content-Type: application/json)');
      // a JSON value that is neither an array nor an object (an array arrives as JsonText)
      const parsed = ingestSchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, zodMessage(parsed.error, 'body'));
      return { code: '200' as const, accepted: await svc.ingest(user(req), JSON.stringify(parsed.data)) };
    };
    /** the bulk ingest, authenticated by header or query, whose query the route's schema accepts */
    const deferred = (req: FastifyRequest) => {
      const o = overrideOf(req);
      return (!o || o === 'POST') && slot.get(req) !== undefined && querySchema.safeParse(req.query).success;
    };
    const put = async (req: FastifyRequest, q: Query) => {
      const ids = parseIds(q.id);
      if (!ids) throw new HttpError(400, 'id is required');
      const chs = parseChs(q.ch);
      if (req.body === undefined)
        throw new HttpError(400, 'a JSON object of metadata fields is required (Content-Type: application/json)');
      const parsed = metadataSchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, zodMessage(parsed.error, 'body'));
      return { code: '200' as const, updated: await svc.updateMetadata(user(req), ids, chs, parsed.data) };
    };
    const del = async (req: FastifyRequest, q: Query) => {
      const s = selection(q, true);
      return { code: '200' as const, deleted: await svc.deletePoints(user(req), s.ids!, s.chs, s.from, s.to) };
    };

    await mapRefusals(scope.withTypeProvider<ZodTypeProvider>(), (api) => {
      const common = {
        ...auth(svc, slot),
        preValidation: parseUnlessDeferred(() => false),
        schema: { querystring: querySchema, tags: ['conduit'], security: [{ apiKey: [] }] },
      };
      const summary = (s: string) => ({ ...common.schema, summary: s });
      api.get(
        '/',
        { ...common, schema: summary('datapoints (at most the plan allows, by time)') },
        async (req, reply) => {
          const answer = await svc.read(user(req), selection(req.query));
          if (answer.json === null) {
            if (emptyStatus === 200) return reply.type('application/json; charset=utf-8').send('[]');
            return reply.code(emptyStatus).send();
          }
          if (answer.nextFcdt !== undefined)
            reply.header(TRUNCATED_HEADER, 'true').header(NEXT_HEADER, String(answer.nextFcdt));
          return reply.type('application/json; charset=utf-8').send(answer.json);
        },
      );
      api.post(
        '/',
        {
          ...common,
          preValidation: parseUnlessDeferred(deferred),
          schema: summary('ingest a JSON array of datapoints or an uplink (X-HTTP-Method-Override: PUT|DELETE)'),
        },
        async (req) => {
          const override = overrideOf(req);
          if (!override || override === 'POST') return ingest(req);
          if (override === 'PUT') return put(req, req.query);
          if (override === 'DELETE') return del(req, req.query);
          throw new HttpError(405, `X-HTTP-Method-Override: ${override.slice(0, 20)} is not allowed (PUT or DELETE)`, {
            allow: ALLOW,
          });
        },
      );
      api.post(
        UPLINK_PATH,
        {
          ...common,
          schema: {
            ...summary('an AlphaX uplink, Data Format V1 (data: hex) or V2 (data: [{channelId, value}])'),
            response: { 200: accepted },
          },
        },
        uplink,
      );
      api.put(
        '/',
        {
          ...common,
          schema: {
            ...summary('update device (id) or channel (id, ch) metadata'),
            response: { 200: ok.extend({ updated: z.number() }) },
          },
        },
        (req) => put(req, req.query),
      );
      api.delete(
        '/',
        {
          ...common,
          schema: {
            ...summary('delete datapoints of id (and ch) in fcdt..tcdt'),
            response: { 200: ok.extend({ deleted: z.number() }) },
          },
        },
        (req) => del(req, req.query),
      );
    });
    const others = scope.supportedMethods.filter((m) => !['GET', 'HEAD', 'POST', 'PUT', 'DELETE'].includes(m));
    scope.route({
      method: others,
      url: '/',
      schema: { hide: true },
      onRequest: async () => {
        throw new HttpError(405, 'Method Not Allowed', { allow: ALLOW });
      },
      handler: async () => undefined,
    });
  };
}

/**
 * The Conduit V4 webhook scope (prefix V4_PREFIX): `POST /post` with everything in the query
 * (token, then one value or V1 hex). A body, if any, is read up to the limit and ignored.
 */
export function webhookRoutes(svc: ConduitService, maxBodyBytes: number) {
  return async function plugin(scope: FastifyInstance): Promise<void> {
    installErrorFormat(scope, conduitShape);
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, async () => undefined);
    const slot = requestSlot<AuthUser>(scope, 'conduitUser');
    await mapRefusals(scope.withTypeProvider<ZodTypeProvider>(), (api) => {
      api.post(
        '/post',
        {
          onRequest: async (req) => slot.set(req, await svc.authenticate(apiKey(req), 'write')),
          schema: {
            querystring: webhookQuerySchema,
            response: { 200: accepted },
            tags: ['conduit'],
            security: [{ apiKey: [] }],
            summary: 'Conduit V4 webhook: token, netid, chid, value (one value) or token, id, data (V1 hex), date?',
          },
        },
        async (req) => ({ code: '200' as const, accepted: await svc.webhook(slot.get(req)!, req.query) }),
      );
    });
    scope.route({
      method: scope.supportedMethods.filter((m) => m !== 'POST' && m !== 'HEAD'),
      url: '/post',
      schema: { hide: true },
      onRequest: async () => {
        throw new HttpError(405, 'Method Not Allowed', { allow: 'POST' });
      },
      handler: async () => undefined,
    });
  };
}
