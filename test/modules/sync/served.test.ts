/** Issue 18: GET /sync built once per change of the served devices, never stale, ETag / 304, IV per build. */
import { describe, expect, it } from 'vitest';
import { decryptData, encryptData } from '../../../src/modules/sync/crypto.js';
import { ADMIN, type TestApp, closesItself } from '../../helpers/app.js';
import { AUTH, device, form, processNow, sql, syncApp } from './helpers.js';

async function app(cfg: Record<string, unknown> = {}) {
  const a = await syncApp(cfg);
  closesItself(a);
  return a;
}

async function seed(a: TestApp, list: Array<Record<string, unknown>>, node = 'N') {
  const json = JSON.stringify({ data: list });
  const key = a.config.sync.encryptionKey;
  const r = await a.app.inject({
    method: 'POST',
    url: '/sync',
    ...form({ data: key ? encryptData(json, key) : json, node_name: node, plugin: 'SYNC' }),
  });
  expect(r.statusCode).toBe(200);
  await processNow(a);
}

const get = (a: TestApp, headers: Record<string, string> = {}) =>
  a.app.inject({ url: '/sync', headers: { ...AUTH, ...headers } });
const macs = (b64: string) =>
  (JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as { data: Array<{ devMac: string }> }).data.map(
    (d) => d.devMac,
  );

describe('GET /sync answer cache', () => {
  it('never stale: a device written before the request is in the answer; the ETag moves with every change', async () => {
    const a = await app();
    await seed(a, [device(1)]);
    const r1 = await get(a);
    expect(macs(r1.json().data_base64)).toEqual(['aa:bb:cc:00:00:01']);
    const etag1 = r1.headers.etag as string;
    expect(etag1).toMatch(/^W\/"[0-9a-f]+-\d+"$/);
    expect((await get(a)).headers.etag).toBe(etag1);
    await seed(a, [device(2)]);
    const r2 = await get(a);
    expect(macs(r2.json().data_base64)).toEqual(['aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:02']);
    expect(r2.headers.etag).not.toBe(etag1);
    // a write that bypasses the module (another process, an operator) is seen too: the version is kept by triggers
    await sql(a, "DELETE FROM sync_devices WHERE mac = 'aa:bb:cc:00:00:01'");
    const r3 = await get(a);
    expect(macs(r3.json().data_base64)).toEqual(['aa:bb:cc:00:00:02']);
    expect(r3.headers['content-length']).toBe(String(r3.rawPayload.length));
  });

  it('If-None-Match: 304 without a body while nothing changed, 200 after a change; a hub that ignores it gets 200 always', async () => {
    const a = await app();
    await seed(a, [device(1)]);
    const etag = (await get(a)).headers.etag as string;
    const notMod = await get(a, { 'if-none-match': etag });
    expect(notMod.statusCode).toBe(304);
    expect(notMod.body).toBe('');
    expect(notMod.headers.etag).toBe(etag);
    expect((await get(a, { 'if-none-match': `"other", ${etag.slice(2)}` })).statusCode).toBe(304); // weak comparison, lists
    expect((await get(a, { 'if-none-match': '"other"' })).statusCode).toBe(200);
    expect((await get(a)).statusCode).toBe(200);
    await seed(a, [device(2)]);
    const changed = await get(a, { 'if-none-match': etag });
    expect(changed.statusCode).toBe(200);
    expect(macs(changed.json().data_base64)).toHaveLength(2);
  });

  it('sync.serveEncrypted: one IV per build (same bytes while unchanged, a new IV after a change), and a fieldhub hub pulls it', async () => {
    const key = 'serve key';
    const node = await app({ encryptionKey: key, serveEncrypted: true, nodeName: 'ENC' });
    const url = await node.listen();
    await seed(node, [device(1)]);
    const text = (r: { json(): { data_base64: string } }) =>
      Buffer.from(r.json().data_base64, 'base64').toString('latin1');
    const a = text(await get(node));
    const b = text(await get(node));
    expect(b).toBe(a); // one build, served twice
    expect(JSON.parse(decryptData(a, key)).data.map((d: { devMac: string }) => d.devMac)).toEqual([
      'aa:bb:cc:00:00:01',
    ]);
    await seed(node, [device(2)]);
    const c = text(await get(node));
    expect(c.slice(0, 24)).not.toBe(a.slice(0, 24)); // a new plaintext, a new IV
    expect(JSON.parse(decryptData(c, key)).data).toHaveLength(2);

    const hub = await app({ encryptionKey: key, pullNodes: [url] });
    const r = await hub.app.inject({ method: 'POST', url: '/admin/sync/pull', headers: ADMIN });
    expect(r.json().value).toEqual([{ url: `${url}/sync`, ok: true, node: 'ENC', seq: 1 }]);
    await processNow(hub);
    expect((await hub.app.inject({ url: '/sync/devices', headers: AUTH })).json().total).toBe(2);
  });

  it('serves a large table whole (the answer is built in pieces)', async () => {
    const a = await app();
    const list = Array.from({ length: 3000 }, (_, i) => device(i, { devComments: 'x'.repeat(200) }));
    await seed(a, list);
    const r = await get(a);
    expect(r.statusCode).toBe(200);
    const got = macs(r.json().data_base64);
    expect(got).toHaveLength(3000);
    expect(new Set(got).size).toBe(3000);
  });
});
