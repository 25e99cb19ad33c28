/** Per-key isolation: two keys both own client 1234; nothing one key does is visible to or changes the other. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFO, KEY_A, KEY_B, makePatriot, USER, type PatriotApp } from './helpers.js';
import { readXml } from './helpers/xml-db.js';

let t: PatriotApp;
const ID = 1234;
const H = (id: number, user?: number) => ({
  'x-client-id': String(id),
  ...(user ? { 'x-user-no': String(user) } : {}),
});

async function snapshotB() {
  const r = await t.req(KEY_B, 'GET', '/clients', undefined, H(ID));
  return { status: r.statusCode, body: r.body, xml: readXml(t.xml('InstallerX', ID)) };
}

beforeAll(async () => {
  t = await makePatriot();
  for (const [key, name] of [
    [KEY_A, 'Client of A'],
    [KEY_B, 'Client of B'],
  ] as const) {
    expect((await t.req(key, 'PUT', '/clients', { client_id: ID, info: { ...INFO, Name: name } })).statusCode).toBe(
      201,
    );
    await t.req(key, 'PUT', '/clients/zones', { client_id: ID, zone_id: 1, Zone_area: `zone of ${name}` });
    await t.req(key, 'POST', '/clients/users', { client_id: ID, user: { ...USER, User_Name: `user of ${name}` } });
  }
  // a client only B has
  await t.req(KEY_B, 'PUT', '/clients', { client_id: 5555, info: { Name: 'B only' } });
  await t.req(KEY_B, 'PUT', '/clients/zones', { client_id: 5555, zone_id: 1 });
  await t.req(KEY_B, 'POST', '/clients/users', { client_id: 5555, user: USER });
});
afterAll(async () => {
  await t.close();
});

describe('patriot per-key isolation', () => {
  it('the same client id under two keys: separate records, separate XML files with their own port and installer', async () => {
    const a = (await t.req(KEY_A, 'GET', '/clients', undefined, H(ID))).json();
    const b = (await t.req(KEY_B, 'GET', '/clients', undefined, H(ID))).json();
    expect(a.info.Name).toBe('Client of A');
    expect(b.info.Name).toBe('Client of B');
    expect(a.zones['1'].Zone_area).toBe('zone of Client of A');
    expect(b.users['1'].User_Name).toBe('user of Client of B');
    const xa = readXml(t.xml('Alarm24', ID));
    const xb = readXml(t.xml('InstallerX', ID));
    expect(xa).toContain('<__id>1234BASE11</__id>');
    expect(xa).toContain('<Installer>Alarm24 Installasjon AS</Installer>');
    expect(xb).toContain('<__id>1234BASE05</__id>');
    expect(xb).toContain('<Installer>Installer X</Installer>');
    expect(xb).not.toContain('Client of A');
  });

  it('reads of A see only A: every read endpoint', async () => {
    const reads: Array<[string, string, unknown, Record<string, string>?]> = [
      ['GET', '/clients', undefined, H(ID)],
      ['GET', '/clients/zones', undefined, H(ID)],
      ['POST', '/clients/zones/list', { client_id: ID }],
      ['GET', '/clients/users', undefined, H(ID)],
      ['POST', '/clients/users/list', { client_id: ID }],
      ['GET', '/clients/users/single', undefined, H(ID, 1)],
      ['POST', '/clients/users/get', { client_id: ID, user_no: 1 }],
    ];
    for (const [m, u, body, h] of reads) {
      const r = await t.req(KEY_A, m, u, body, h);
      expect(r.statusCode, `${m} ${u}`).toBe(200);
      expect(r.body, `${m} ${u}`).not.toContain('of Client of B');
      // B's client 5555 does not exist for A
      const other = await t.req(
        KEY_A,
        m,
        u,
        body === undefined ? undefined : { ...(body as object), client_id: 5555 },
        h && H(5555, h['x-user-no'] ? 1 : undefined),
      );
      expect(other.statusCode, `${m} ${u} 5555`).toBe(404);
    }
  });

  it("writes of A never change B: every write endpoint, checked against B's API view and XML file", async () => {
    const before = await snapshotB();
    const writes: Array<[string, string, unknown, number]> = [
      ['PUT', '/clients', { client_id: ID, info: { ...INFO, Name: 'A changed' } }, 200],
      ['PATCH', '/clients', { client_id: ID, info: { Location: 'A street' } }, 200],
      ['PUT', '/clients/zones', { client_id: ID, zone_id: 1, Zone_area: 'A zone' }, 201],
      ['PUT', '/clients/zones', { client_id: ID, zone_id: 2, Zone_area: 'A zone 2' }, 201],
      ['DELETE', '/clients/zones', { client_id: ID, zone_id: 1 }, 204],
      ['POST', '/clients/users', { client_id: ID, user: { ...USER, UserNo: 2, User_Name: 'A user 2' } }, 201],
      ['PUT', '/clients/users', { client_id: ID, user: { ...USER, User_Name: 'A renamed' } }, 200],
      ['DELETE', '/clients/users', { client_id: ID, user_no: 1 }, 204],
      ['DELETE', '/clients', { client_id: ID }, 204],
    ];
    for (const [m, u, body, status] of writes) {
      expect((await t.req(KEY_A, m, u, body)).statusCode, `${m} ${u}`).toBe(status);
      expect(await snapshotB(), `${m} ${u}`).toEqual(before);
    }
    // and A cannot write to B's client 5555: every write answers 404 (PUT /clients creates A's own 5555)
    const b5555 = (await t.req(KEY_B, 'GET', '/clients', undefined, H(5555))).body;
    for (const [m, u, body] of [
      ['PATCH', '/clients', { client_id: 5555, info: { Name: 'x' } }],
      ['DELETE', '/clients', { client_id: 5555 }],
      ['PUT', '/clients/zones', { client_id: 5555, zone_id: 1 }],
      ['DELETE', '/clients/zones', { client_id: 5555, zone_id: 1 }],
      ['POST', '/clients/users', { client_id: 5555, user: { ...USER, UserNo: 9 } }],
      ['PUT', '/clients/users', { client_id: 5555, user: USER }],
      ['DELETE', '/clients/users', { client_id: 5555, user_no: 1 }],
    ] as const) {
      expect((await t.req(KEY_A, m, u, body)).statusCode, `${m} ${u}`).toBe(404);
    }
    expect((await t.req(KEY_A, 'PUT', '/clients', { client_id: 5555, info: { Name: 'A own 5555' } })).statusCode).toBe(
      201,
    );
    expect((await t.req(KEY_B, 'GET', '/clients', undefined, H(5555))).body).toBe(b5555);
    expect((await t.req(KEY_B, 'POST', '/clients/users', { client_id: 5555, user: USER })).statusCode).toBe(409);
  });
});
