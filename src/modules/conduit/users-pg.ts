/**
 * Conduit users on PostgreSQL: the same rules and answers as users.ts (the SQLite class), on a
 * connection inside a write's transaction (writes-pg.ts) or on the pool (reads, store-pg.ts).
 * Unique constraints settle the races of replicas adding the same name or token at once.
 */
import type pg from 'pg';
import { Refused, invalid } from './errors.js';
import { DEFAULT_PLAN, type Plan } from './plans.js';
import {
  USER_NAME_RE,
  checkPlan,
  checkSiteName,
  checkThrottle,
  checkToken,
  hashToken,
  newToken,
  type AuthUser,
  type ConduitUser,
} from './users.js';

/** a connection or the pool */
export type Queryable = Pick<pg.ClientBase, 'query'>;

interface UserRow {
  id: number;
  name: string;
  enabled: number;
  http_api: number;
  throttle_seconds: number | null;
  plan: Plan;
  created_at: string;
  sites: string[];
}

const LIST = `SELECT u.id, u.name, u.enabled, u.http_api, u.throttle_seconds, u.plan, u.created_at,
    ARRAY(SELECT s.name FROM conduit_user_sites us JOIN conduit_sites s ON s.id = us.site_id
          WHERE us.user_id = u.id ORDER BY s.name COLLATE "C") AS sites
  FROM conduit_users u`;

const toUser = (u: UserRow): ConduitUser => ({
  id: u.id,
  name: u.name,
  enabled: u.enabled === 1,
  httpApi: u.http_api === 1,
  throttleSeconds: u.throttle_seconds,
  plan: u.plan,
  createdAt: u.created_at,
  sites: u.sites,
});

const isUnique = (e: unknown) => (e as { code?: string }).code === '23505';

export async function byToken(q: Queryable, token: string): Promise<AuthUser | undefined> {
  const r = await q.query<AuthUser>(
    'SELECT id, name, enabled, http_api, throttle_seconds, plan FROM conduit_users WHERE token_hash = $1',
    [hashToken(token)],
  );
  return r.rows[0];
}

export async function listUsers(q: Queryable): Promise<ConduitUser[]> {
  const r = await q.query<UserRow>(`${LIST} ORDER BY u.name COLLATE "C"`);
  return r.rows.map(toUser);
}

export async function sites(q: Queryable): Promise<Array<{ name: string; devices: number; users: number }>> {
  const r = await q.query<{ name: string; devices: number; users: number }>(
    `SELECT s.name,
       (SELECT COUNT(*)::int FROM conduit_devices d WHERE d.site_id = s.id) AS devices,
       (SELECT COUNT(*)::int FROM conduit_user_sites us WHERE us.site_id = s.id) AS users
     FROM conduit_sites s ORDER BY s.name COLLATE "C"`,
  );
  return r.rows;
}

async function idOf(q: Queryable, name: string): Promise<number> {
  const r = await q.query<{ id: number }>('SELECT id FROM conduit_users WHERE name = $1', [name]);
  if (!r.rows[0]) throw new Refused('not-found', `no conduit user "${name.slice(0, 64)}"`);
  return r.rows[0].id;
}

async function get(q: Queryable, name: string): Promise<ConduitUser> {
  const r = await q.query<UserRow>(`${LIST} WHERE u.name = $1`, [name]);
  if (!r.rows[0]) throw new Refused('not-found', `no conduit user "${name.slice(0, 64)}"`);
  return toUser(r.rows[0]);
}

/** the site's id, creating the site when it does not exist */
async function ensureSite(q: Queryable, name: string): Promise<number> {
  const s = checkSiteName(name);
  await q.query('INSERT INTO conduit_sites (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [s]);
  const r = await q.query<{ id: number }>('SELECT id FROM conduit_sites WHERE name = $1', [s]);
  return r.rows[0]!.id;
}

async function tokenInUse(q: Queryable, token: string): Promise<boolean> {
  const r = await q.query('SELECT 1 FROM conduit_users WHERE token_hash = $1', [hashToken(token)]);
  return r.rows.length > 0;
}

/** The user changes of writes-pg.ts: each runs in its write's transaction (`c`). */
export const userWrites = {
  async add(
    c: Queryable,
    opts: {
      name: string;
      token?: string;
      sites?: string[];
      httpApi?: boolean;
      throttleSeconds?: number | null;
      plan?: Plan;
    },
  ): Promise<{ user: ConduitUser; token: string }> {
    if (!USER_NAME_RE.test(opts.name)) throw invalid('a user name is 1-64 characters of A-Z a-z 0-9 _ . @ -');
    const token = opts.token === undefined ? newToken() : checkToken(opts.token);
    const throttle = checkThrottle(opts.throttleSeconds);
    const plan = checkPlan(opts.plan ?? DEFAULT_PLAN);
    const exists = await c.query('SELECT 1 FROM conduit_users WHERE name = $1', [opts.name]);
    if (exists.rows.length) throw new Refused('conflict', `conduit user "${opts.name}" exists`);
    if (await tokenInUse(c, token)) throw new Refused('conflict', 'that token is in use');
    let id: number;
    try {
      const r = await c.query<{ id: number }>(
        `INSERT INTO conduit_users (name, token_hash, enabled, http_api, throttle_seconds, plan, created_at)
         VALUES ($1, $2, 1, $3, $4, $5, $6) RETURNING id`,
        [opts.name, hashToken(token), opts.httpApi === false ? 0 : 1, throttle, plan, new Date().toISOString()],
      );
      id = r.rows[0]!.id;
    } catch (e) {
      // another replica added the same name or token between the checks and the insert
      if (isUnique(e)) throw new Refused('conflict', `conduit user "${opts.name}" or its token exists`);
      throw e;
    }
    for (const s of opts.sites ?? []) {
      await c.query('INSERT INTO conduit_user_sites (user_id, site_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        id,
        await ensureSite(c, s),
      ]);
    }
    return { user: await get(c, opts.name), token };
  },

  async update(
    c: Queryable,
    name: string,
    patch: { enabled?: boolean; httpApi?: boolean; throttleSeconds?: number | null; plan?: Plan },
  ): Promise<ConduitUser> {
    const id = await idOf(c, name);
    const bit = (b: boolean | undefined) => (b === undefined ? null : b ? 1 : 0);
    await c.query(
      `UPDATE conduit_users SET enabled = COALESCE($2, enabled), http_api = COALESCE($3, http_api),
         throttle_seconds = CASE WHEN $4 THEN $5::double precision ELSE throttle_seconds END, plan = COALESCE($6, plan)
       WHERE id = $1`,
      [
        id,
        bit(patch.enabled),
        bit(patch.httpApi),
        patch.throttleSeconds !== undefined,
        checkThrottle(patch.throttleSeconds),
        patch.plan === undefined ? null : checkPlan(patch.plan),
      ],
    );
    return get(c, name);
  },

  async rotateToken(c: Queryable, name: string, token?: string): Promise<string> {
    const id = await idOf(c, name);
    const t = token === undefined ? newToken() : checkToken(token);
    if (await tokenInUse(c, t)) throw new Refused('conflict', 'that token is in use');
    try {
      await c.query('UPDATE conduit_users SET token_hash = $1 WHERE id = $2', [hashToken(t), id]);
    } catch (e) {
      if (isUnique(e)) throw new Refused('conflict', 'that token is in use');
      throw e;
    }
    return t;
  },

  async grantSite(c: Queryable, name: string, site: string): Promise<ConduitUser> {
    const id = await idOf(c, name);
    await c.query('INSERT INTO conduit_user_sites (user_id, site_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      id,
      await ensureSite(c, site),
    ]);
    return get(c, name);
  },

  async revokeSite(c: Queryable, name: string, site: string): Promise<ConduitUser> {
    const id = await idOf(c, name);
    await c.query(
      'DELETE FROM conduit_user_sites WHERE user_id = $1 AND site_id = (SELECT id FROM conduit_sites WHERE name = $2)',
      [id, site.trim()],
    );
    return get(c, name);
  },
};
