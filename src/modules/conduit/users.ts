/**
 * Conduit users, their tokens and the sites they may see. Used by the CLI (on a bare Store), the
 * request path (byToken, on the main connection) and the admin API's changes (on the writer
 * thread, writes.ts). Tokens are stored as SHA-256 hashes: a token is shown once, when it is made.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DB } from '../../core/db.js';
import { Refused, invalid } from './errors.js';
import { DEFAULT_PLAN, PLANS, type Plan } from './plans.js';

export const USER_NAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
export const MIN_TOKEN_LENGTH = 16;

export interface ConduitUser {
  id: number;
  name: string;
  enabled: boolean;
  httpApi: boolean;
  /** null: the configured conduit.throttleSeconds */
  throttleSeconds: number | null;
  /** usage limits (plans.ts); `spec` by default */
  plan: Plan;
  createdAt: string;
  sites: string[];
}

/** What the request path needs: one indexed get per request. */
export interface AuthUser {
  id: number;
  name: string;
  enabled: number;
  http_api: number;
  throttle_seconds: number | null;
  plan: Plan;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): string {
  return randomBytes(20).toString('hex');
}

export function checkSiteName(site: string): string {
  const s = site.trim();
  // eslint-disable-next-line no-control-regex -- on purpose: control characters are what a site name must not hold
  if (!s || s.length > 100 || /[\u0000-\u001f\u007f]/.test(s))
    throw invalid(`invalid site name "${site.slice(0, 40)}"`);
  return s;
}

export function checkToken(token: string): string {
  if (token.length < MIN_TOKEN_LENGTH || token.length > 256 || /\s/.test(token)) {
    throw invalid(`a token needs ${MIN_TOKEN_LENGTH} to 256 characters and no spaces`);
  }
  return token;
}

export function checkThrottle(t: number | null | undefined): number | null {
  if (t === undefined || t === null) return null;
  if (!Number.isFinite(t) || t < 0 || t > 86400) throw invalid('throttle must be 0..86400 seconds');
  return t;
}

export function checkPlan(p: string): Plan {
  if (!(PLANS as readonly string[]).includes(p)) throw invalid(`plan must be one of ${PLANS.join(', ')}`);
  return p as Plan;
}

export class Users {
  private readonly byHash;
  private readonly byName;
  private readonly all;
  private readonly sitesOf;
  private readonly siteByName;
  private readonly insertSite;
  private readonly insertUser;
  private readonly grant;
  private readonly revoke;
  private readonly patch;
  private readonly setToken;
  private readonly siteList;

  constructor(private readonly db: DB) {
    this.byHash = db.prepare<[string], AuthUser>(
      'SELECT id, name, enabled, http_api, throttle_seconds, plan FROM conduit_users WHERE token_hash = ?',
    );
    this.byName = db.prepare<[string], { id: number }>('SELECT id FROM conduit_users WHERE name = ?');
    this.all = db.prepare<
      [],
      {
        id: number;
        name: string;
        enabled: number;
        http_api: number;
        throttle_seconds: number | null;
        plan: Plan;
        created_at: string;
      }
    >('SELECT id, name, enabled, http_api, throttle_seconds, plan, created_at FROM conduit_users ORDER BY name');
    this.sitesOf = db.prepare<[number], { name: string }>(
      'SELECT s.name FROM conduit_user_sites us JOIN conduit_sites s ON s.id = us.site_id WHERE us.user_id = ? ORDER BY s.name',
    );
    this.siteByName = db.prepare<[string], { id: number }>('SELECT id FROM conduit_sites WHERE name = ?');
    this.insertSite = db.prepare<[string]>('INSERT INTO conduit_sites (name) VALUES (?) ON CONFLICT(name) DO NOTHING');
    this.insertUser = db.prepare<[string, string, number, number | null, Plan, string]>(
      'INSERT INTO conduit_users (name, token_hash, enabled, http_api, throttle_seconds, plan, created_at) VALUES (?, ?, 1, ?, ?, ?, ?)',
    );
    this.grant = db.prepare<[number, number]>(
      'INSERT OR IGNORE INTO conduit_user_sites (user_id, site_id) VALUES (?, ?)',
    );
    this.revoke = db.prepare<[number, number]>('DELETE FROM conduit_user_sites WHERE user_id = ? AND site_id = ?');
    /** one statement for any subset of the switches (null: unchanged) */
    this.patch = db.prepare<{
      id: number;
      enabled: number | null;
      http_api: number | null;
      has_throttle: number;
      throttle: number | null;
      plan: Plan | null;
    }>(
      `UPDATE conduit_users SET enabled = COALESCE(@enabled, enabled), http_api = COALESCE(@http_api, http_api),
         throttle_seconds = CASE WHEN @has_throttle THEN @throttle ELSE throttle_seconds END, plan = COALESCE(@plan, plan)
       WHERE id = @id`,
    );
    this.setToken = db.prepare<[string, number]>('UPDATE conduit_users SET token_hash = ? WHERE id = ?');
    this.siteList = db.prepare<[], { name: string; devices: number; users: number }>(
      `SELECT s.name,
         (SELECT COUNT(*) FROM conduit_devices d WHERE d.site_id = s.id) AS devices,
         (SELECT COUNT(*) FROM conduit_user_sites us WHERE us.site_id = s.id) AS users
       FROM conduit_sites s ORDER BY s.name`,
    );
  }

  /** the user holding this token, or undefined */
  byToken(token: string): AuthUser | undefined {
    return this.byHash.get(hashToken(token));
  }

  private idOf(name: string): number {
    const row = this.byName.get(name);
    if (!row) throw new Refused('not-found', `no conduit user "${name.slice(0, 64)}"`);
    return row.id;
  }

  /** the site's id, creating the site when it does not exist */
  ensureSite(name: string): number {
    const s = checkSiteName(name);
    this.insertSite.run(s);
    return this.siteByName.get(s)!.id;
  }

  get(name: string): ConduitUser {
    const id = this.idOf(name);
    return this.list().find((u) => u.id === id)!;
  }

  list(): ConduitUser[] {
    return this.all.all().map((u) => ({
      id: u.id,
      name: u.name,
      enabled: u.enabled === 1,
      httpApi: u.http_api === 1,
      throttleSeconds: u.throttle_seconds,
      plan: u.plan,
      createdAt: u.created_at,
      sites: this.sitesOf.all(u.id).map((s) => s.name),
    }));
  }

  /** Creates a user (and its sites). Returns the user and its token, which is not stored. */
  add(opts: {
    name: string;
    token?: string;
    sites?: string[];
    httpApi?: boolean;
    throttleSeconds?: number | null;
    plan?: Plan;
  }): {
    user: ConduitUser;
    token: string;
  } {
    if (!USER_NAME_RE.test(opts.name)) throw invalid('a user name is 1-64 characters of A-Z a-z 0-9 _ . @ -');
    const token = opts.token === undefined ? newToken() : checkToken(opts.token);
    const throttle = checkThrottle(opts.throttleSeconds);
    const plan = checkPlan(opts.plan ?? DEFAULT_PLAN);
    this.db
      .transaction(() => {
        if (this.byName.get(opts.name)) throw new Refused('conflict', `conduit user "${opts.name}" exists`);
        if (this.byHash.get(hashToken(token))) throw new Refused('conflict', 'that token is in use');
        const id = Number(
          this.insertUser.run(
            opts.name,
            hashToken(token),
            opts.httpApi === false ? 0 : 1,
            throttle,
            plan,
            new Date().toISOString(),
          ).lastInsertRowid,
        );
        for (const s of opts.sites ?? []) this.grant.run(id, this.ensureSite(s));
      })
      .immediate();
    return { user: this.get(opts.name), token };
  }

  update(
    name: string,
    patch: { enabled?: boolean; httpApi?: boolean; throttleSeconds?: number | null; plan?: Plan },
  ): ConduitUser {
    const id = this.idOf(name);
    const bit = (b: boolean | undefined) => (b === undefined ? null : b ? 1 : 0);
    this.patch.run({
      id,
      enabled: bit(patch.enabled),
      http_api: bit(patch.httpApi),
      has_throttle: patch.throttleSeconds === undefined ? 0 : 1,
      throttle: checkThrottle(patch.throttleSeconds),
      plan: patch.plan === undefined ? null : checkPlan(patch.plan),
    });
    return this.get(name);
  }

  /** a new token for the user; the old one stops working at once */
  rotateToken(name: string, token?: string): string {
    const id = this.idOf(name);
    const t = token === undefined ? newToken() : checkToken(token);
    if (this.byHash.get(hashToken(t))) throw new Refused('conflict', 'that token is in use');
    this.setToken.run(hashToken(t), id);
    return t;
  }

  grantSite(name: string, site: string): ConduitUser {
    const id = this.idOf(name);
    this.db.transaction(() => this.grant.run(id, this.ensureSite(site)))();
    return this.get(name);
  }

  revokeSite(name: string, site: string): ConduitUser {
    const id = this.idOf(name);
    const s = this.siteByName.get(site.trim());
    if (s) this.revoke.run(id, s.id);
    return this.get(name);
  }

  sites(): Array<{ name: string; devices: number; users: number }> {
    return this.siteList.all();
  }
}
