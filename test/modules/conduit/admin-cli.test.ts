import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStores } from '../../../src/app.js';
import type { CliContext } from '../../../src/core/module.js';
import conduit from '../../../src/modules/conduit/index.js';
import { ADMIN, tempDir } from '../../helpers/app.js';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';
import { conduitApp } from './helpers.js';

const root = path.join(import.meta.dirname, '..', '..', '..');
const cli = path.join(root, 'dist', 'cli.js');

describe('conduit admin API', () => {
  it('manages users, tokens and sites behind the admin token', async () => {
    const c = await conduitApp({ throttleSeconds: 0 });
    expect((await c.app.inject({ url: '/admin/conduit/users' })).statusCode).toBe(401);
    const add = await c.app.inject({
      method: 'POST',
      url: '/admin/conduit/users',
      headers: ADMIN,
      payload: { name: 'alice', sites: ['North'] },
    });
    expect(add.statusCode).toBe(201);
    const { token, user } = add.json<{ token: string; user: { name: string; sites: string[]; enabled: boolean } }>();
    expect(user).toMatchObject({
      name: 'alice',
      sites: ['North'],
      enabled: true,
      httpApi: true,
      throttleSeconds: null,
    });
    expect(token).toMatch(/^[0-9a-f]{40}$/);
    // the token is not stored in clear
    expect(JSON.stringify(await c.sql('SELECT * FROM conduit_users'))).not.toContain(token);
    expect(
      (await c.app.inject({ method: 'POST', url: '/admin/conduit/users', headers: ADMIN, payload: { name: 'alice' } }))
        .statusCode,
    ).toBe(409);
    expect((await c.req({ token })).statusCode).toBe(304);
    const post = await c.ingest(token, [{ dev_netid: 'A1', dev_chid: 1, val_date: 1, val_raw: 1 }]);
    expect(post.statusCode).toBe(200);

    const off = await c.app.inject({
      method: 'PATCH',
      url: '/admin/conduit/users/alice',
      headers: ADMIN,
      payload: { httpApi: false },
    });
    expect(off.json()).toMatchObject({ httpApi: false });
    expect((await c.req({ token })).statusCode).toBe(403);
    await c.app.inject({
      method: 'PATCH',
      url: '/admin/conduit/users/alice',
      headers: ADMIN,
      payload: { httpApi: true },
    });

    const rot = await c.app.inject({ method: 'POST', url: '/admin/conduit/users/alice/token', headers: ADMIN });
    const fresh = rot.json<{ token: string }>().token;
    expect((await c.req({ token })).statusCode).toBe(401);
    expect((await c.req({ token: fresh })).statusCode).toBe(304);

    const grant = await c.app.inject({ method: 'PUT', url: '/admin/conduit/users/alice/sites/South', headers: ADMIN });
    expect(grant.json()).toMatchObject({ sites: ['North', 'South'] });
    const revoke = await c.app.inject({
      method: 'DELETE',
      url: '/admin/conduit/users/alice/sites/North',
      headers: ADMIN,
    });
    expect(revoke.json()).toMatchObject({ sites: ['South'] });
    expect((await c.req({ token: fresh, url: '/conduitv6?fcdt=0&tcdt=10' })).statusCode).toBe(304);
    const sites = await c.app.inject({ url: '/admin/conduit/sites', headers: ADMIN });
    expect(sites.json()).toEqual([
      { name: 'North', devices: 1, users: 0 },
      { name: 'South', devices: 0, users: 1 },
    ]);
    const missing = await c.app.inject({
      method: 'PATCH',
      url: '/admin/conduit/users/nobody',
      headers: ADMIN,
      payload: { enabled: false },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    const bad = await c.app.inject({
      method: 'POST',
      url: '/admin/conduit/users',
      headers: ADMIN,
      payload: { name: 'bad name' },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('fieldhub conduit user ...', () => {
  it('add, list, disable, enable, grant-site work on the store of a running server', async () => {
    const c = await conduitApp();
    // the CLI's own stores beside the running server's (on PostgreSQL: its own pool on the same database)
    const stores = await openStores(c.config, [conduit]);
    const lines: string[] = [];
    const ctx = {
      config: c.config,
      ...(stores.pg ? { pg: stores.pg } : { store: stores.store }),
      log: c.app.log,
      out: (l: string) => lines.push(l),
    } as unknown as CliContext;
    const user = conduit.commands!.user!;
    try {
      expect(await user.run(['add', 'bob', '--site', 'Depot', '--throttle', '0'], ctx)).toBe(0);
      const token = /^token: (\w+)$/.exec(lines.find((l) => l.startsWith('token: '))!)![1]!;
      expect((await c.req({ token })).statusCode).toBe(304);
      expect(await user.run(['add', 'carol', '--token', 'carol-legacy-token-0001', '--no-http-api'], ctx)).toBe(0);
      expect((await c.req({ token: 'carol-legacy-token-0001' })).statusCode).toBe(403);
      expect(await user.run(['grant-site', 'carol', 'Yard'], ctx)).toBe(0);
      lines.length = 0;
      expect(await user.run(['list'], ctx)).toBe(0);
      expect(lines).toEqual([
        'NAME   ENABLED  HTTP_API  PLAN  THROTTLE_S  SITES',
        'bob    yes      on        spec  0           Depot',
        'carol  yes      off       spec  default     Yard',
      ]);
      expect(lines.join('\n')).not.toContain('carol-legacy-token-0001');
      expect(await user.run(['disable', 'bob'], ctx)).toBe(0);
      expect((await c.req({ token })).statusCode).toBe(403);
      expect(await user.run(['enable', 'bob'], ctx)).toBe(0);
      expect((await c.req({ token })).statusCode).toBe(304);
      lines.length = 0;
      expect(await user.run(['disable', 'nobody'], ctx)).toBe(1);
      expect(lines).toEqual(['fieldhub conduit user: no conduit user "nobody"']);
      expect(await user.run(['add', 'bob'], ctx)).toBe(1);
      expect(await user.run(['add', 'x', '--token', 'short'], ctx)).toBe(1);
      expect(await user.run(['frobnicate'], ctx)).toBe(2);
      expect(await user.run(['add'], ctx)).toBe(2);
      expect(await user.run(['add', 'y', '--bogus'], ctx)).toBe(2);
    } finally {
      await stores.close();
    }
  });

  it.skipIf(!existsSync(cli))('through the built command line', () => {
    const dataDir = tempDir();
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      FIELDHUB_DATA_DIR: dataDir,
    };
    // the PostgreSQL run: the CLI on the data dir's database, the modules without PostgreSQL tables off
    if (onPostgres)
      Object.assign(env, {
        FIELDHUB_STORE__DRIVER: 'postgres',
        FIELDHUB_STORE__URL: pgUrlFor(dataDir),
        FIELDHUB_PUSH__ENABLED: 'false',
        FIELDHUB_SYNC__ENABLED: 'false',
        FIELDHUB_PATRIOT__ENABLED: 'false',
      });
    const fh = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'conduit', 'user', ...args], { cwd: root, env, encoding: 'utf8' });
    const add = fh('add', 'dana', '--site', 'Main Site');
    expect(add.status).toBe(0);
    expect(add.stdout).toMatch(/^user dana added; sites: Main Site\ntoken: [0-9a-f]{40}\n$/);
    expect(fh('grant-site', 'dana', 'Annex').status).toBe(0);
    expect(fh('disable', 'dana').status).toBe(0);
    const list = fh('list');
    expect(list.stdout).toContain('dana  no       on        spec  default     Annex,Main Site');
    // on PostgreSQL the users are in the database, not in a SQLite file
    expect(existsSync(path.join(dataDir, 'fieldhub.sqlite'))).toBe(!onPostgres);
  });
});
