/**
 * The operator console at /console: the built single-page app (dist/console/assets, `npm run build`)
 * and its sign-in. The page shows only what the operator API under /admin/... answers; it signs in
 * here with the admin token and then calls /admin/... with the session cookie and X-CSRF-Token.
 * Imports no module.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { safeEqual } from '../core/auth.js';
import { coreShape, installErrorFormat } from '../core/errors.js';
import { SESSION_COOKIE } from '../core/session.js';
import { FailedSignIns } from './limiter.js';

export const ASSETS_DIR = fileURLToPath(new URL('../../dist/console/assets/', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const loginBody = z.object({ token: z.string().min(1).max(1024) }).strict();

function cookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

/** A cross-site sign-in attempt names another origin; browsers send Origin on every POST. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export async function consolePlugin(app: FastifyInstance): Promise<void> {
  const cfg = app.config.console;
  const limiter = new FailedSignIns(cfg.maxFailedSignIns, cfg.failedSignInWindowSeconds * 1000);
  installErrorFormat(app, coreShape);

  app.addHook('onSend', async (_req, reply: FastifyReply) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
  });

  const built = existsSync(ASSETS_DIR + 'index.html');
  if (!built) app.log.warn({ dir: ASSETS_DIR }, 'console assets are not built: run `npm run build`');
  const indexHtml = built
    ? readFileSync(ASSETS_DIR + 'index.html', 'utf8')
    : '<!doctype html><title>fieldhub</title><p>console assets are not built: run npm run build</p>';
  if (built)
    await app.register(fastifyStatic, {
      root: ASSETS_DIR,
      prefix: '/assets/',
      index: false,
      wildcard: true,
      cacheControl: true,
      maxAge: '1h',
    });

  const page = { schema: { hide: true }, logLevel: 'warn' as const };
  // every client-side route answers the same page (the app routes on location.hash)
  app.get('/', page, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(indexHtml),
  );

  app.post(
    '/login',
    {
      schema: {
        summary: 'Console sign-in with the admin token: sets the session cookie, answers the CSRF token',
        tags: ['console'],
        body: loginBody,
      },
    },
    async (req, reply) => {
      const ip = req.ip;
      const wait = limiter.blockedSeconds(ip);
      if (wait > 0) {
        return reply
          .code(429)
          .header('retry-after', String(wait))
          .send({
            statusCode: 429,
            error: 'Too Many Requests',
            message: `too many failed sign-ins; retry in ${wait} s`,
          });
      }
      if (!sameOrigin(req))
        return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'sign-in from another origin' });
      const { token } = req.body as z.infer<typeof loginBody>;
      const expected = app.config.admin.token;
      if (!expected || !safeEqual(token, expected)) {
        const failures = limiter.fail(ip);
        req.log.warn({ remoteAddress: ip, failures }, 'console sign-in failed');
        return reply.code(401).send({
          statusCode: 401,
          error: 'Unauthorized',
          message: expected ? 'wrong admin token' : 'admin.token is not configured',
        });
      }
      limiter.clear(ip);
      const made = (await app.sessions.create())!;
      req.log.info({ remoteAddress: ip }, 'console sign-in');
      const maxAge = Math.floor((made.session.expiresMs - Date.now()) / 1000);
      return reply
        .header('set-cookie', cookie(req, made.cookie, maxAge))
        .header('cache-control', 'no-store')
        .send({ csrf: made.session.csrf, expiresAt: new Date(made.session.expiresMs).toISOString() });
    },
  );

  app.get(
    '/session',
    { schema: { summary: "The console session's CSRF token and expiry (401 when signed out)", tags: ['console'] } },
    async (req, reply) => {
      const s = await app.sessions.fromRequest(req);
      if (!s) return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'not signed in' });
      return reply
        .header('cache-control', 'no-store')
        .send({ csrf: s.csrf, expiresAt: new Date(s.expiresMs).toISOString() });
    },
  );

  app.post(
    '/logout',
    { schema: { summary: 'Console sign-out (needs X-CSRF-Token)', tags: ['console'] } },
    async (req, reply) => {
      const s = await app.sessions.fromRequest(req);
      if (s && !app.sessions.csrfOk(req, s))
        return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'missing or wrong X-CSRF-Token' });
      if (s) await app.sessions.revoke(s.id);
      return reply.header('set-cookie', cookie(req, '', 0)).send({ signedOut: true });
    },
  );
}
