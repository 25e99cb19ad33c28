/**
 * `fieldhub conduit user add|list|disable|enable|grant-site|revoke-site|token ...` on the store
 * (the server may be running: SQLite WAL lets both write, and the API reads users per request).
 */
import { parseArgs } from 'node:util';
import type { CliCommand, CliContext } from '../../core/module.js';
import { Refused } from './errors.js';
import { PLANS, type Plan } from './plans.js';
import { Users } from './users.js';

const USAGE = [
  'add NAME [--site SITE]... [--token TOKEN] [--throttle SECONDS] [--plan PLAN] [--no-http-api]',
  'list',
  `plan NAME PLAN   (${PLANS.join(' | ')})`,
  'disable NAME | enable NAME',
  'grant-site NAME SITE | revoke-site NAME SITE',
  'token NAME   (a new token; the old one stops working)',
].join('\n         ');

function table(users: ReturnType<Users['list']>): string[] {
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

function run(args: string[], ctx: CliContext): number {
  const users = new Users(ctx.store.db);
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
        const r = users.add({
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
        for (const l of table(users.list())) ctx.out(l);
        return 0;
      case 'plan': {
        if (rest.length !== 2) return fail(`usage: plan NAME PLAN (${PLANS.join(' | ')})`);
        const u = users.update(rest[0]!, { plan: rest[1] as Plan });
        ctx.out(`user ${u.name} plan ${u.plan}`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        if (rest.length !== 1) return fail(`usage: ${verb} NAME`);
        const u = users.update(rest[0]!, { enabled: verb === 'enable' });
        ctx.out(`user ${u.name} ${u.enabled ? 'enabled' : 'disabled'}`);
        return 0;
      }
      case 'grant-site':
      case 'revoke-site': {
        if (rest.length !== 2) return fail(`usage: ${verb} NAME SITE`);
        const u = verb === 'grant-site' ? users.grantSite(rest[0]!, rest[1]!) : users.revokeSite(rest[0]!, rest[1]!);
        ctx.out(`user ${u.name} sites: ${u.sites.join(', ') || '(none)'}`);
        return 0;
      }
      case 'token': {
        if (rest.length !== 1) return fail('usage: token NAME');
        ctx.out(`token: ${users.rotateToken(rest[0]!)}`);
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
