/** Credential extraction and comparison shared by every module. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SAFE_METHODS, type Sessions } from './session.js';

/**
 * Constant-time comparison of two secrets. Both sides are hashed first, so neither the
 * content nor the length of the expected secret leaks through timing.
 * An empty or missing expected secret never matches.
 */
export function safeEqual(given: string | undefined | null, expected: string | undefined | null): boolean {
  if (!expected || typeof given !== 'string') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Authorization: Bearer <token>` (scheme case-insensitive), or undefined. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const h = header(req, 'authorization');
  if (!h) return undefined;
  const m = /^Bearer[ \t]+(.+)$/i.exec(h.trim());
  return m ? m[1]!.trim() : undefined;
}

/** A single-valued query parameter, or undefined. */
export function queryParam(req: FastifyRequest, name: string): string | undefined {
  const q = req.query as Record<string, unknown> | undefined;
  const v = q?.[name];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** `X-Api-Key` header, else a `Token` header, else the `token` query parameter. */
export function apiKey(req: FastifyRequest): string | undefined {
  return header(req, 'x-api-key') ?? header(req, 'token') ?? queryParam(req, 'token');
}

/**
 * preHandler for the operator API under /admin/: `Authorization: Bearer <admin.token>`, or a
 * console session cookie (then every state-changing method also needs its X-CSRF-Token).
 * With no admin token configured every request is refused.
 */
export function adminGuard(getToken: () => string | undefined, sessions?: Sessions) {
  return async function requireAdmin(req: FastifyRequest, reply: FastifyReply) {
    const expected = getToken();
    if (!expected) {
      return reply
        .code(401)
        .send({ statusCode: 401, error: 'Unauthorized', message: 'admin API disabled: admin.token is not configured' });
    }
    const bearer = bearerToken(req);
    const session = bearer === undefined ? await sessions?.fromRequest(req) : undefined;
    if (session) {
      if (!SAFE_METHODS.has(req.method) && !sessions!.csrfOk(req, session)) {
        return reply
          .code(403)
          .send({ statusCode: 403, error: 'Forbidden', message: 'missing or wrong X-CSRF-Token for this session' });
      }
      return;
    }
    if (!safeEqual(bearer, expected)) {
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'missing or wrong admin token' });
    }
  };
}

const SECRET_QUERY = /([?&](?:token|api_key|apikey|access_token)=)[^&#]*/gi;

/** The URL with secret query parameters replaced, for logs. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]');
}

/** pino redact paths for secrets that may appear in logged objects. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.token',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.token',
  'password',
  '*.password',
  'token',
  '*.token',
  'apiToken',
  '*.apiToken',
  'encryptionKey',
  '*.encryptionKey',
  'key',
  '*.key',
];
