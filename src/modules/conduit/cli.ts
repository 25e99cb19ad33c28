/**
 * `fieldhub conduit user add|list|disable|enable|grant-site|revoke-site|token ...` on the store
 * (the server may be running: SQLite WAL lets both write, and the API reads users per request).
 * On PostgreSQL the changes are the writes of writes-pg.ts (core PgWriter) and the list is store-pg.ts.
 */
import { parseArgs } from 'node:util';
import type { CliCommand, CliContext } from '../../core/module.js';
import { PgWriter } from '../../core/pg.js';
import { Refused, refusedAgain } from './errors.js';
import { PLANS, type Plan } from './plans.js';
import { ConduitReadsPg } from './store-pg.js';
import { Users, type ConduitUser } from './users.js';
import { writesPg } from './writes-pg.js';

type Maybe<T> = T | Promise<T>;

/** the user changes and list the commands use, on either driver */
interface UserOps {
  add(a: Parameters<Users['add']>[0]): Maybe<{ user: ConduitUser; token: string }>;
  list(): Maybe<ConduitUser[]>;
  update(name: string, patch: Parameters<Users['update']>[1]): Maybe<ConduitUser>;
  grantSite(name: string, site: string): Maybe<ConduitUser>;
  revokeSite(name: string, site: string): Maybe<ConduitUser>;
  rotateToken(name: string): Maybe<string>;
}

function userOps(ctx: CliContext): UserOps {
  if (!ctx.pg) return new Users(ctx.store.db);
  const writer = new PgWriter(ctx.pg, writesPg());
  const reads = new ConduitReadsPg(ctx.pg);
  const write = async <T>(op: string, args: unknown): Promise<T> => {
    try {
      return (await writer.run<T>(op, args)).value;
    } catch (e) {
      throw refusedAgain(e);
    }
  };
  return {
    add: (a) => write('conduit.user.add', a),
    list: () => reads.users(),
    update: (name, patch) => write('conduit.user.update', { name, patch }),
    grantSite: (name, site) => write('conduit.user.grant', { name, site }),
    revokeSite: (name, site) => write('conduit.user.revoke', { name, site }),
    rotateToken: (name) => write('conduit.user.token', { name }),
  };
}

const USAGE = [
  'add NAME [--site SITE]... [--token TOKEN] [--throttle SECONDS] [--plan PLAN] [--no-http-api]',
  'list',
  `plan NAME PLAN   (${PLANS.join(' | ')})`,
  'disable NAME | enable NAME',
  'grant-site NAME SITE | revoke-site NAME SITE',
  'token NAME   (a new token; the old one stops working)',
].join('\n         ');

function table(users: ConduitUser[]): string[] {
  const rows = [
    ['NAME', 'ENABLED', 'HTTP_API', 'PLAN', 'THROTTLE_S', 'SITES'],
    ...users.map((u) => [
      u.name,
      u.enabled ? 'yes' : 'no',
      u.httpApi ? 'on' : 'off',
      u.plan,
      u.throttleSeconds === null ? 'default' : String(u.throttleSeconds),
      u.sites.join(','),
    ]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join('  '));
}

async function run(args: string[], ctx: CliContext): Promise<number> {
  const users = userOps(ctx);
  const [verb, ...rest] = args;
  const fail = (msg: string) => {
    ctx.out(`fieldhub conduit user: ${msg}`);
    return 2;
  };
  try {
    switch (verb) {
      case 'add': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            site: { type: 'string', multiple: true },
            token: { type: 'string' },
            throttle: { type: 'string' },
            plan: { type: 'string' },
            'no-http-api': { type: 'boolean' },
          },
        });
        if (positionals.length !== 1)
          return fail(
            'usage: add NAME [--site SITE]... [--token TOKEN] [--throttle SECONDS] [--plan PLAN] [--no-http-api]',
          );
        const throttle = values.throttle === undefined ? undefined : Number(values.throttle);
        if (throttle !== undefined && !Number.isFinite(throttle)) return fail('--throttle: expected seconds');
        const r = await users.add({
          name: positionals[0]!,
          token: values.token,
          sites: values.site,
          throttleSeconds: throttle,
          plan: values.plan as Plan | undefined,
          httpApi: !values['no-http-api'],
        });
        ctx.out(`user ${r.user.name} added; sites: ${r.user.sites.join(', ') || '(none)'}`);
        ctx.out(`token: ${r.token}`);
        return 0;
      }
      case 'list':
        for (const l of table(await users.list())) ctx.out(l);
        return 0;
      case 'plan': {
        if (rest.length !== 2) return fail(`usage: plan NAME PLAN (${PLANS.join(' | ')})`);
        const u = await users.update(rest[0]!, { plan: rest[1] as Plan });
        ctx.out(`user ${u.name} plan ${u.plan}`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        if (rest.length !== 1) return fail(`usage: ${verb} NAME`);
        const u = await users.update(rest[0]!, { enabled: verb === 'enable' });
        ctx.out(`user ${u.name} ${u.enabled ? 'enabled' : 'disabled'}`);
        return 0;
      }
      case 'grant-site':
      case 'revoke-site': {
        if (rest.length !== 2) return fail(`usage: ${verb} NAME SITE`);
        const u = await (verb === 'grant-site'
          ? users.grantSite(rest[0]!, rest[1]!)
          : users.revokeSite(rest[0]!, rest[1]!));
        ctx.out(`user ${u.name} sites: ${u.sites.join(', ') || '(none)'}`);
        return 0;
      }
      case 'token': {
        if (rest.length !== 1) return fail('usage: token NAME');
        ctx.out(`token: ${await users.rotateToken(rest[0]!)}`);
        return 0;
      }
      default:
        return fail(`unknown subcommand "${verb ?? ''}"; usage:\n         ${USAGE}`);
    }
  } catch (e) {
    if (e instanceof Refused) {
      ctx.out(`fieldhub conduit user: ${e.message}`);
      return 1;
    }
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'))
      return fail(e.message);
    throw e;
  }
}

export const commands: Record<string, CliCommand> = {
  user: { usage: USAGE, summary: 'manage conduit users, their tokens and sites', run },
};
