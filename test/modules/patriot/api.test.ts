/** Every endpoint and status code of the patriot API through the HTTP surface (app.inject and a real socket). */
import { readdirSync, readFileSync } from 'node:fs';
import { XMLValidator } from 'fast-xml-parser';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildPatriot, INFO, KEY_A, KEY_B, USER, type PatriotApp } from './helpers.js';
import { onPostgres, readXml, testDb } from './helpers/xml-db.js';

let t: PatriotApp;
// each test's own app, closed when the test finishes
beforeEach(async () => {
  t = await buildPatriot();
});

const H = (id: number | string, user?: number | string) => ({
  'x-client-id': String(id),
  ...(user !== undefined ? { 'x-user-no': String(user) } : {}),
});

async function seed(key = KEY_A, id = 9998) {
  expect((await t.req(key, 'PUT', '/clients', { client_id: id, info: INFO })).statusCode).toBe(201);
  expect(
    (await t.req(key, 'PUT', '/clients/zones', { client_id: id, zone_id: 1, Zone_area: 'Inngang', ModuleNo: 0 }))
      .statusCode,
  ).toBe(201);
  expect((await t.req(key, 'POST', '/clients/users', { client_id: id, user: USER })).statusCode).toBe(201);
}

describe('patriot API: clients', () => {
  it('PUT creates (201) then updates (200), omitted fields get the documented defaults; GET returns info, zones, users', async () => {
    const c = await t.req(KEY_A, 'PUT', '/clients', { client_id: 9998, info: { Name: 'Kari' } });
    expect(c.statusCode).toBe(201);
    expect(c.json().info).toEqual({
      Name: 'Kari',
      Alias: '',
      Location: '',
      area_code: '',
      area: '',
      BusPhone: '',
      Email: '',
      OKPassword: '',
      SpecRequest: '',
      NoSigsMon: 1,
      SinceDays: 1,
      SinceHrs: 0,
      SinceMins: 0,
      ResetNosigsIgnored: true,
      ResetNosigsDays: 7,
      ResetNosigsHrs: 0,
      ResetNosigsMins: 0,
      InstallDateTime: new Date().toISOString().slice(0, 10),
      PanelName: '',
      PanelSite: '',
      KeypadLocation: '',
      SPPage: '',
    });
    const u = await t.req(KEY_A, 'PUT', '/clients', { client_id: 9998, info: INFO });
    expect(u.statusCode).toBe(200);
    await t.req(KEY_A, 'PUT', '/clients/zones', { client_id: 9998, zone_id: 2, Zone_area: 'Stue' });
    await t.req(KEY_A, 'POST', '/clients/users', { client_id: 9998, user: USER });
    const g = await t.req(KEY_A, 'GET', '/clients', undefined, H(9998));
    expect(g.statusCode).toBe(200);
    expect(g.json()).toEqual({
      client_id: 9998,
      info: INFO,
      zones: { '2': { Zone_No: 2, Zone_area: 'Stue', ModuleNo: 0 } },
      users: { '1': USER },
    });
    // a PUT replaces the info, it keeps zones and users
    const again = await t.req(KEY_A, 'PUT', '/clients', { client_id: 9998, info: { Name: 'Ny' } });
    expect(again.json().info.Location).toBe('');
    expect(Object.keys(again.json().zones)).toEqual(['2']);
  });

  it('numbers and booleans are accepted as the original accepts them (integer strings, "true"/"False"), others 422', async () => {
    const r = await t.req(KEY_A, 'PUT', '/clients', {
      client_id: '77',
      info: { Name: 'A', SinceMins: '15', ResetNosigsIgnored: 'False' },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ client_id: 77, info: { SinceMins: 15, ResetNosigsIgnored: false } });
    const bad = await t.req(KEY_A, 'PUT', '/clients', {
      client_id: 1.5,
      info: { Name: 'A', SinceMins: 'x', ResetNosigsIgnored: 'maybe' },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().detail.map((d: { loc: unknown[] }) => d.loc)).toEqual([
      ['body', 'client_id'],
      ['body', 'info', 'SinceMins'],
      ['body', 'info', 'ResetNosigsIgnored'],
    ]);
  });

  it('PATCH changes only the info fields sent; 404 for a missing client', async () => {
    await seed();
    const r = await t.req(KEY_A, 'PATCH', '/clients', {
      client_id: 9998,
      info: { Location: 'Ny gate 99', BusPhone: '12345678' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().info).toEqual({ ...INFO, Location: 'Ny gate 99', BusPhone: '12345678' });
    expect(Object.keys(r.json().zones)).toEqual(['1']);
    const miss = await t.req(KEY_A, 'PATCH', '/clients', { client_id: 1, info: { Location: 'x' } });
    expect(miss.statusCode).toBe(404);
    expect(miss.json()).toEqual({ detail: 'Client not found' });
  });

  it('DELETE removes the client, its zones, users and XML file (204), then 404', async () => {
    await seed();
    const file = t.xml('Alarm24', 9998);
    expect(readXml(file)).toContain('<__id>9998BASE11</__id>');
    const d = await t.req(KEY_A, 'DELETE', '/clients', { client_id: 9998 });
    expect(d.statusCode).toBe(204);
    expect(d.body).toBe('');
    expect(() => readXml(file)).toThrow(/ENOENT/);
    expect((await t.req(KEY_A, 'GET', '/clients', undefined, H(9998))).statusCode).toBe(404);
    expect((await t.req(KEY_A, 'DELETE', '/clients', { client_id: 9998 })).statusCode).toBe(404);
    expect(testDb(t.app).prepare('SELECT count(*) AS n FROM patriot_zones').get()).toEqual({ n: 0 });
    expect(testDb(t.app).prepare('SELECT count(*) AS n FROM patriot_users').get()).toEqual({ n: 0 });
    expect(testDb(t.app).prepare('SELECT count(*) AS n FROM patriot_client_state').get()).toEqual({ n: 0 });
    // recreating is a 201 again
    expect((await t.req(KEY_A, 'PUT', '/clients', { client_id: 9998, info: INFO })).statusCode).toBe(201);
  });

  it('GET without X-Client-Id is 422, of an unknown client 404', async () => {
    const r = await t.req(KEY_A, 'GET', '/clients');
    expect(r.statusCode).toBe(422);
    expect(r.json()).toEqual({ detail: [{ loc: ['header', 'x-client-id'], msg: 'Field required', type: 'missing' }] });
    expect((await t.req(KEY_A, 'GET', '/clients', undefined, H('abc'))).statusCode).toBe(422);
    expect((await t.req(KEY_A, 'GET', '/clients', undefined, H(0))).statusCode).toBe(422);
    expect((await t.req(KEY_A, 'GET', '/clients', undefined, H(5))).json()).toEqual({ detail: 'Client not found' });
  });
});

describe('patriot API: zones', () => {
  it('PUT zone is 201 on create and update; GET and POST list; DELETE 204 then 404', async () => {
    await seed();
    const up = await t.req(KEY_A, 'PUT', '/clients/zones', {
      client_id: 9998,
      zone_id: 1,
      Zone_area: 'Gang',
      ModuleNo: 3,
    });
    expect(up.statusCode).toBe(201);
    expect(
      (await t.req(KEY_A, 'PUT', '/clients/zones', { client_id: 9998, zone_id: 999, Zone_area: 'Stue' })).statusCode,
    ).toBe(201);
    const expected = {
      client_id: 9998,
      zones: [
        { Zone_No: 1, Zone_area: 'Gang', ModuleNo: 3 },
        { Zone_No: 999, Zone_area: 'Stue', ModuleNo: 0 },
      ],
    };
    const g = await t.req(KEY_A, 'GET', '/clients/zones', undefined, H(9998));
    expect(g.statusCode).toBe(200);
    expect(g.json()).toEqual(expected);
    const l = await t.req(KEY_A, 'POST', '/clients/zones/list', { client_id: 9998 });
    expect(l.statusCode).toBe(200);
    expect(l.json()).toEqual(expected);
    expect((await t.req(KEY_A, 'DELETE', '/clients/zones', { client_id: 9998, zone_id: 1 })).statusCode).toBe(204);
    const gone = await t.req(KEY_A, 'DELETE', '/clients/zones', { client_id: 9998, zone_id: 1 });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toEqual({ detail: 'Zone not found' });
  });

  it('zone_id must be 1..999; a zone of a missing client is 404', async () => {
    await seed();
    for (const zone_id of [0, 1000, -1, 'x']) {
      const r = await t.req(KEY_A, 'PUT', '/clients/zones', { client_id: 9998, zone_id, Zone_area: 'a' });
      expect(r.statusCode).toBe(422);
      expect(r.json().detail[0].loc).toEqual(['body', 'zone_id']);
    }
    expect((await t.req(KEY_A, 'PUT', '/clients/zones', { client_id: 1, zone_id: 1, Zone_area: 'a' })).statusCode).toBe(
      404,
    );
    expect((await t.req(KEY_A, 'GET', '/clients/zones', undefined, H(1))).statusCode).toBe(404);
    expect((await t.req(KEY_A, 'POST', '/clients/zones/list', { client_id: 1 })).statusCode).toBe(404);
    expect((await t.req(KEY_A, 'DELETE', '/clients/zones', { client_id: 1, zone_id: 1 })).statusCode).toBe(404);
    expect(
      (await t.req(KEY_A, 'PUT', '/clients/zones', { client_id: 9998, zone_id: 5, Zone_area: 'x'.repeat(101) }))
        .statusCode,
    ).toBe(422);
  });
});

describe('patriot API: users', () => {
  it('POST creates (201), 409 when the UserNo exists; GET list, single, POST list/get; PUT replaces; DELETE 204', async () => {
    await seed();
    const dup = await t.req(KEY_A, 'POST', '/clients/users', {
      client_id: 9998,
      user: { ...USER, User_Name: 'Other' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toEqual({ detail: 'User 1 already exists' });
    const u2 = { User_Name: 'To', UserNo: 2 };
    const c = await t.req(KEY_A, 'POST', '/clients/users', { client_id: 9998, user: u2 });
    expect(c.statusCode).toBe(201);
    const u2full = {
      User_Name: 'To',
      MobileNo: '',
      MobileNoOrder: 1,
      Email: '',
      Type: 'U',
      UserNo: 2,
      Instructions: '',
      CallOrder: 0,
    };
    expect(c.json()).toEqual({ client_id: 9998, user: u2full });
    const list = { client_id: 9998, users: [USER, u2full] };
    expect((await t.req(KEY_A, 'GET', '/clients/users', undefined, H(9998))).json()).toEqual(list);
    expect((await t.req(KEY_A, 'POST', '/clients/users/list', { client_id: 9998 })).json()).toEqual(list);
    const single = await t.req(KEY_A, 'GET', '/clients/users/single', undefined, H(9998, 1));
    expect(single.statusCode).toBe(200);
    expect(single.json()).toEqual({ client_id: 9998, user: USER });
    expect((await t.req(KEY_A, 'POST', '/clients/users/get', { client_id: 9998, user_no: 2 })).json()).toEqual({
      client_id: 9998,
      user: u2full,
    });
    const changed = {
      ...USER,
      User_Name: 'Changed Name',
      MobileNo: '+4798765432',
      Email: 'new@email.com',
      Instructions: 'New instructions',
    };
    const put = await t.req(KEY_A, 'PUT', '/clients/users', { client_id: 9998, user: changed });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ client_id: 9998, user: changed });
    expect(
      (await t.req(KEY_A, 'PUT', '/clients/users', { client_id: 9998, user: { ...USER, UserNo: 3 } })).statusCode,
    ).toBe(404);
    expect((await t.req(KEY_A, 'DELETE', '/clients/users', { client_id: 9998, user_no: 1 })).statusCode).toBe(204);
    expect((await t.req(KEY_A, 'DELETE', '/clients/users', { client_id: 9998, user_no: 1 })).json()).toEqual({
      detail: 'User not found',
    });
    expect((await t.req(KEY_A, 'GET', '/clients/users/single', undefined, H(9998, 1))).statusCode).toBe(404);
    expect((await t.req(KEY_A, 'POST', '/clients/users/get', { client_id: 9998, user_no: 1 })).statusCode).toBe(404);
  });

  it('UserNo 199 is reserved (422), UserNo must be a positive integer; missing client 404', async () => {
    await seed();
    for (const UserNo of [199, 0, -3, 'x', 2.5]) {
      const r = await t.req(KEY_A, 'POST', '/clients/users', { client_id: 9998, user: { ...USER, UserNo } });
      expect(r.statusCode, String(UserNo)).toBe(422);
      expect(r.json().detail[0].loc).toEqual(['body', 'user', 'UserNo']);
    }
    expect((await t.req(KEY_A, 'GET', '/clients/users/single', undefined, H(9998, 199))).statusCode).toBe(422);
    expect((await t.req(KEY_A, 'GET', '/clients/users/single', undefined, H(9998))).json().detail[0].loc).toEqual([
      'header',
      'x-user-no',
    ]);
    expect((await t.req(KEY_A, 'POST', '/clients/users', { client_id: 1, user: USER })).statusCode).toBe(404);
    expect((await t.req(KEY_A, 'GET', '/clients/users', undefined, H(1))).statusCode).toBe(404);
    expect(
      (
        await t.req(KEY_A, 'POST', '/clients/users', {
          client_id: 9998,
          user: { ...USER, UserNo: 5, Email: 'e'.repeat(255) },
        })
      ).statusCode,
    ).toBe(422);
    // the installer user is never exposed by the API
    expect(
      (await t.req(KEY_A, 'GET', '/clients/users', undefined, H(9998)))
        .json()
        .users.map((u: { UserNo: number }) => u.UserNo),
    ).toEqual([1]);
  });
});

describe('patriot API: auth, errors, request log', () => {
  it('401 for a missing, unknown, disabled or expired key, saying which; no data touched', async () => {
    await t.close();
    t = await buildPatriot(
      {},
      (await import('./helpers.js')).keysJson({ b: { valid_to: '2001-01-01T00:00:00Z' } }).concat([
        {
          key_name: 'Off',
          key: 'off-key-0123456789',
          enabled: 'False',
          valid_to: null,
          port: 'BASE09',
          installer_name: 'x',
          installer_email: 'y',
        } as never,
      ]),
    );
    const cases: Array<[string | null, string]> = [
      [null, 'Missing API key'],
      ['not-a-key', 'Invalid API key'],
      ['off-key-0123456789', 'API key disabled'],
      [KEY_B, 'API key expired'],
    ];
    for (const [key, detail] of cases) {
      const r = await t.req(key, 'PUT', '/clients', { client_id: 5, info: INFO });
      expect(r.statusCode).toBe(401);
      expect(r.json()).toEqual({ detail });
      expect(r.headers['www-authenticate']).toBe('Bearer');
    }
    // auth comes before validation, as in the original
    expect((await t.req('not-a-key', 'PUT', '/clients', { client_id: -1 })).statusCode).toBe(401);
    expect((await t.req(null, 'GET', '/clients')).statusCode).toBe(401);
    expect(testDb(t.app).prepare('SELECT count(*) AS n FROM patriot_clients').get()).toEqual({ n: 0 });
  });

  it('malformed JSON 422 json_invalid, empty body 422, other content type 422, oversize 413, unknown path 404, wrong method 405', async () => {
    await t.close();
    t = await buildPatriot({ bodyLimitBytes: 2048 });
    const bad = await t.req(KEY_A, 'PUT', '/clients', '{"client_id": 1,', { 'content-type': 'application/json' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toEqual({ detail: [{ loc: ['body', 16], msg: 'JSON decode error', type: 'json_invalid' }] });
    const empty = await t.req(KEY_A, 'DELETE', '/clients', '', { 'content-type': 'application/json' });
    expect(empty.statusCode).toBe(422);
    expect(empty.json()).toEqual({ detail: [{ loc: ['body'], msg: 'Field required', type: 'missing' }] });
    const form = await t.req(KEY_A, 'PUT', '/clients', 'client_id=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.statusCode).toBe(422);
    expect(form.json().detail[0].loc).toEqual(['body']);
    const big = await t.req(KEY_A, 'PUT', '/clients', { client_id: 1, info: { Name: 'x', SPPage: 'y'.repeat(3000) } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toEqual({ detail: expect.any(String) });
    const nf = await t.req(KEY_A, 'GET', '/clients/nothing');
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ detail: 'Not Found' });
    for (const [m, u, allow] of [
      ['POST', '/clients', 'GET, PUT, PATCH, DELETE'],
      ['GET', '/clients/zones/list', 'POST'],
      ['PATCH', '/clients/users', 'GET, POST, PUT, DELETE'],
      ['DELETE', '/clients/users/single', 'GET'],
    ]) {
      const r = await t.req(null, m!, u!);
      expect(r.statusCode, `${m} ${u}`).toBe(405);
      expect(r.json()).toEqual({ detail: 'Method Not Allowed' });
      expect(r.headers.allow).toBe(allow);
    }
    for (const r of [bad, empty, form, big, nf]) expect(r.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it('texts XML cannot carry are refused with 422; unknown fields are ignored', async () => {
    const r = await t.req(KEY_A, 'PUT', '/clients', { client_id: 3, info: { Name: 'a\u0001b' } });
    expect(r.statusCode).toBe(422);
    expect(r.json().detail[0]).toMatchObject({ loc: ['body', 'info', 'Name'], type: 'string_pattern_mismatch' });
    const ok = await t.req(KEY_A, 'PUT', '/clients', {
      client_id: 3,
      extra: 1,
      info: { Name: 'tab\there\r\nline', Color: 'red' },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().info.Name).toBe('tab\there\r\nline');
    expect(ok.json().info.Color).toBeUndefined();
  });

  it('writes one request log line per request with key_name, never the key (real socket)', async () => {
    const url = await t.listen();
    await fetch(`${url}/clients`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 42, info: INFO }),
    });
    await fetch(`${url}/clients`, { headers: { authorization: `Bearer ${KEY_B}`, 'x-client-id': '42' } });
    await fetch(`${url}/clients`, { headers: { authorization: 'Bearer wrong-key-123', 'x-client-id': '42' } });
    await t.app.close();
    const log = readFileSync(path.join(t.config.dataDir, 'api_requests.log'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(3);
    expect(log[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z key_name=Alarm24 PUT \/clients client_id=42 status=201 duration_ms=\d+\.\d$/,
    );
    expect(log[1]).toMatch(/ key_name=InstallerX GET \/clients client_id=42 status=404 /);
    expect(log[2]).toMatch(/ key_name=- GET \/clients client_id=42 status=401 /);
    const all = log.join('\n') + t.logs.text;
    for (const secret of [KEY_A, KEY_B, 'wrong-key-123']) expect(all).not.toContain(secret);
  });
});

describe('patriot API: concurrent writes (group commit, XML written in batches)', () => {
  it('many clients written at once are all acknowledged, all readable, each XML file whole and current', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => 7000 + i);
    const keyOf = (id: number) => (id % 2 ? KEY_A : KEY_B);
    const nameOf = (id: number) => (id % 2 ? 'Alarm24' : 'InstallerX');
    const all = <T>(f: (id: number) => Promise<T>) => Promise.all(ids.map(f));
    const puts = await all((id) =>
      t.req(keyOf(id), 'PUT', '/clients', { client_id: id, info: { Name: `C ${id} <&>` } }),
    );
    expect(puts.map((r) => r.statusCode)).toEqual(ids.map(() => 201));
    const parts = await all(async (id) => [
      await t.req(keyOf(id), 'PUT', '/clients/zones', { client_id: id, zone_id: 3, Zone_area: `Z${id}`, ModuleNo: 0 }),
      await t.req(keyOf(id), 'POST', '/clients/users', { client_id: id, user: { ...USER, User_Name: `U${id}` } }),
    ]);
    expect(parts.flat().map((r) => r.statusCode)).toEqual(parts.flat().map(() => 201));
    // one client changed by many requests at once: its file ends with what the store has
    const patches = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.req(KEY_A, 'PATCH', '/clients', { client_id: 7001, info: { Alias: `alias ${i}` } }),
      ),
    );
    expect(patches.map((r) => r.statusCode)).toEqual(patches.map(() => 200));
    for (const id of ids) {
      const g = await t.req(keyOf(id), 'GET', '/clients', undefined, H(id));
      expect(g.statusCode).toBe(200);
      const c = g.json();
      expect(c.info.Name).toBe(`C ${id} <&>`);
      expect(c.zones).toEqual({ '3': { Zone_No: 3, Zone_area: `Z${id}`, ModuleNo: 0 } });
      expect(c.users['1'].User_Name).toBe(`U${id}`);
      const xml = readXml(t.xml(nameOf(id), id));
      expect(XMLValidator.validate(xml), `${id}.xml parses`).toBe(true);
      expect(xml).toContain(`<Name>C ${id} &lt;&amp;&gt;</Name>`);
      expect(xml).toContain(`<Zone_area>Z${id}</Zone_area>`);
      expect(xml).toContain(`<User_Name>U${id}</User_Name>`);
      if (id === 7001) expect(xml).toContain(`<Alias>${c.info.Alias}</Alias>`);
    }
    // no temp file of a write is left beside the client files
    for (const k of ['Alarm24', 'InstallerX'])
      // no temp files left (SQLite: files; PostgreSQL has no files)
      if (!onPostgres) expect(readdirSync(path.dirname(t.xml(k, 1))).filter((n) => !/^\d+\.xml$/.test(n))).toEqual([]);
  });
});
