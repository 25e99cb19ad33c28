/**
 * Operator sessions for the console: a signed, expiring session id in an HttpOnly SameSite=Strict
 * cookie, kept server-side (logout revokes it), each with its CSRF token. On SQLite they live in
 * this process's memory (a restart signs everyone out); on PostgreSQL in the database
 * (`SessionBacking`, PgStore.sessions), so every replica behind the load balancer knows them and a
 * sign-out on one ends the session on all. The signing key is derived from the admin token, so a new admin token ends every session.
 * The operator API (core/auth.ts adminGuard) accepts a session in place of the bearer token.
 */
import fastifyCookie from '@fastify/cookie';
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { safeEqual } from './auth.js';

export const SESSION_COOKIE = 'fieldhub_session';
export const CSRF_HEADER = 'x-csrf-token';
const MAX_SESSIONS = 10_000;

export interface Session {
  id: string;
  csrf: string;
  expiresMs: number;
}

/** Where sessions live when not in this process's memory (a table shared by the replicas). */
export interface SessionBacking {
  put(s: Session): Promise<void>;
  get(id: string): Promise<Session | undefined>;
  remove(id: string): Promise<void>;
}

export class Sessions {
  private readonly live = new Map<string, Session>();

  constructor(
    private readonly getToken: () => string | undefined,
    private readonly ttlMs: number,
    private readonly backing?: SessionBacking,
  ) {}

  private secret(): string | undefined {
    const t = this.getToken();
    return t ? createHmac('sha256', t).update('fieldhub console session').digest('base64url') : undefined;
  }

  /** A new session and its signed cookie value; undefined when no admin token is configured. */
  async create(now = Date.now()): Promise<{ session: Session; cookie: string } | undefined> {
    const secret = this.secret();
    if (!secret) return undefined;
    this.prune(now);
    if (this.live.size >= MAX_SESSIONS) this.live.delete(this.live.keys().next().value!);
    const session = {
      id: randomBytes(24).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      expiresMs: now + this.ttlMs,
    };
    if (this.backing) await this.backing.put(session);
    else this.live.set(session.id, session);
    return { session, cookie: fastifyCookie.sign(session.id, secret) };
  }

  /** The live session a request's cookie names, or undefined. */
  async fromRequest(req: FastifyRequest, now = Date.now()): Promise<Session | undefined> {
    const raw = parseCookie(req.headers.cookie)[SESSION_COOKIE];
    const secret = this.secret();
    if (!raw || !secret) return undefined;
    const u = fastifyCookie.unsign(raw, secret);
    if (!u.valid || !u.value) return undefined;
    const s = this.backing ? await this.backing.get(u.value) : this.live.get(u.value);
    if (!s) return undefined;
    if (s.expiresMs <= now) {
      await this.revoke(s.id);
      return undefined;
    }
    return s;
  }

  /** True when the request carries the session's CSRF token in X-CSRF-Token. */
  csrfOk(req: FastifyRequest, s: Session): boolean {
    const h = req.headers[CSRF_HEADER];
    return safeEqual(Array.isArray(h) ? h[0] : h, s.csrf);
  }

  async revoke(id: string): Promise<void> {
    if (this.backing) await this.backing.remove(id);
    else this.live.delete(id);
  }

  private prune(now: number): void {
    for (const s of this.live.values()) if (s.expiresMs <= now) this.live.delete(s.id);
  }
}

/** name -> value of a Cookie header (first wins; values are not decoded: ours are base64url and '.') */
function parseCookie(header: string | undefined): Record<string, string | undefined> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

/** Methods that change state and so need the CSRF token when authorised by a session. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
