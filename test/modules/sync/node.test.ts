/** Node mode (GET /sync) and the pull / push jobs, between real listening fieldhub instances. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { encryptData } from '../../../src/modules/sync/crypto.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN, closesItself } from '../../helpers/app.js';
import { AUTH, device, files, form, processNow, syncApp, waitFor } from './helpers.js';

async function app(cfg: Record<string, unknown> = {}): Promise<TestApp> {
  return closesItself(await syncApp(cfg));
}

const auth = (a: TestApp) => ({ authorization: `Bearer ${a.config.sync.apiToken}` });

/** Gives an instance devices by posting them to it (encrypted when it has a passphrase). */
async function seed(a: TestApp, node: string, list: Array<Record<string, unknown>>) {
  const { apiToken, encryptionKey } = a.config.sync;
  const json = JSON.stringify({ data: list });
  const f = form({ data: encryptionKey ? encryptData(json, encryptionKey) : json, node_name: node, plugin: 'SYNC' });
  const r = await a.app.inject({
    method: 'POST',
    url: '/sync',
    payload: f.payload,
    headers: { ...f.headers, authorization: `Bearer ${apiToken}` },
  });
  expect(r.statusCode).toBe(200);
  await processNow(a);
}

async function devices(a: TestApp) {
  return (await a.app.inject({ url: '/sync/devices?limit=1000', headers: auth(a) })).json<{
    total: number;
    devices: Array<Record<string, unknown>>;
  }>();
}

async function notes(a: TestApp) {
  return (await a.app.inject({ url: '/sync/notifications?limit=1000', headers: auth(a) })).json<{
    notifications: Array<{ level: string; text: string }>;
  }>().notifications;
}

async function job(a: TestApp, name: 'pull' | 'push') {
  const r = await a.app.inject({ method: 'POST', url: `/admin/sync/${name}`, headers: ADMIN });
  expect(r.statusCode).toBe(200);
  return r.json<{ ok: boolean; value: unknown }>();
}

describe('sync node: GET /sync', () => {
  it('answers node_name, status, message, data_base64 of {"data": [...]} and a NetAlertX timestamp (UTC)', async () => {
    const a = await app({ nodeName: 'NODE-01', serveExtraKeys: true });
    await seed(a, 'FROM', [device(1, { devCustom: 'c1' }), device(2)]);
    const before = Date.now();
    const r = await a.app.inject({ url: '/sync', headers: AUTH });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const b = r.json();
    expect(Object.keys(b)).toEqual(['node_name', 'status', 'message', 'data_base64', 'timestamp']);
    expect(b).toMatchObject({ node_name: 'NODE-01', status: 200, message: 'OK' });
    // issue 13: `YYYY-MM-DD HH:MM:SS` in UTC as NetAlertX 26.4+ (was ISO 8601 with the offset)
    expect(b.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(Math.abs(Date.parse(`${b.timestamp.replace(' ', 'T')}Z`) - before)).toBeLessThan(5000);
    const doc = JSON.parse(Buffer.from(b.data_base64, 'base64').toString('utf8'));
    expect(doc.data).toHaveLength(2);
    expect(doc.data[0]).toMatchObject({
      devMac: 'aa:bb:cc:00:00:01',
      devName: 'Device 1',
      devVendor: 'Vendor A',
      devLastIP: '10.0.0.1',
      devPresentLastScan: 1,
      devGUID: 'guid-1',
      devSyncHubNode: 'FROM',
      devCustom: 'c1',
    });
    // every device carries the same keys in the same order (the original hub inserts by the first one's keys)
    expect(Object.keys(doc.data[1])).toEqual(Object.keys(doc.data[0]));
    expect(doc.data[1].devCustom).toBeNull();
    // the "Data sent" notes of one event-loop turn are written together, right after the answers
    await waitFor(async () => (await notes(a)).some((n) => n.text === '[Plugin: SYNC] Data sent') || undefined);
    expect((await notes(a)).map((n) => n.text)).toContain('[Plugin: SYNC] Data sent');
  });

  it('an empty devices table is served as {"data": []}', async () => {
    const a = await app();
    const b = (await a.app.inject({ url: '/sync', headers: AUTH })).json();
    expect(JSON.parse(Buffer.from(b.data_base64, 'base64').toString())).toEqual({ data: [] });
    expect(b.node_name).toBe('fieldhub');
  });
});

describe('sync pull and push between two fieldhub instances', () => {
  it('a hub pulls a node and a node pushes (encrypted) to a hub', async () => {
    const node = await app({ nodeName: 'SITE-A', encryptionKey: 'shared secret' });
    const nodeUrl = await node.listen();
    await seed(node, 'LOCAL', [device(1), device(2), device(3)]);

    const hub = await app({ nodeName: 'HUB', pullNodes: [`${nodeUrl}/`], encryptionKey: 'shared secret' });
    const hubUrl = await hub.listen();
    const pulled = await job(hub, 'pull');
    expect(pulled.ok).toBe(true);
    expect(pulled.value).toEqual([{ url: `${nodeUrl}/sync`, ok: true, node: 'SITE-A', seq: 1 }]);
    await processNow(hub);
    let d = await devices(hub);
    expect(d.total).toBe(3);
    expect(d.devices.every((x) => x.devSyncHubNode === 'SITE-A')).toBe(true);
    expect(await files(hub)).toEqual(['processed_last_result.SYNC.SITE-A.1.log']);
    expect((await notes(hub)).map((n) => n.text)).toContain(
      '[Plugin: SYNC] Device data from node "SITE-A" received (last_result.SYNC.encoded.SITE-A.1.log)',
    );

    // push: a second node with a hub URL posts its devices, encrypted with the shared passphrase
    const pusher = await app({ nodeName: 'SITE-B', hubUrl: hubUrl, encryptionKey: 'shared secret' });
    await seed(pusher, 'LOCAL', [device(3, { devLastIP: '10.99.0.3' }), device(4)]);
    const pushed = await job(pusher, 'push');
    expect(pushed.value).toEqual({ ok: true, status: 200, devices: 2 });
    await processNow(hub);
    d = await devices(hub);
    expect(d.total).toBe(4);
    expect(d.devices.find((x) => x.devMac === 'aa:bb:cc:00:00:03')).toMatchObject({
      devLastIP: '10.99.0.3',
      devSyncHubNode: 'SITE-B',
    });
    expect(d.devices.find((x) => x.devMac === 'aa:bb:cc:00:00:04')).toMatchObject({ devSyncHubNode: 'SITE-B' });
    expect(await files(hub)).toContain('processed_last_result.SYNC.SITE-B.1.log');
    expect((await notes(pusher)).map((n) => n.text)).toContain(
      `[Plugin: SYNC] Data for "table_devices.json" sent successfully to "${hubUrl}/sync" (2 devices)`,
    );
  });

  it('push with the wrong token or a different passphrase is reported, never crashes', async () => {
    const hub = await app({ encryptionKey: 'hub key' });
    const hubUrl = await hub.listen();
    const wrongToken = await app({ nodeName: 'N1', hubUrl, apiToken: 'not-the-hub-token', encryptionKey: 'hub key' });
    await seed(wrongToken, 'L', [device(1)]);
    expect((await job(wrongToken, 'push')).value).toEqual({ ok: false, status: 403 });
    expect((await notes(wrongToken))[0]).toMatchObject({
      level: 'alert',
      text: `[Plugin: SYNC] Failed to send data for "table_devices.json" to "${hubUrl}/sync" (Status code: 403)`,
    });
    const wrongKey = await app({ nodeName: 'N2', hubUrl, encryptionKey: 'other key' });
    await seed(wrongKey, 'L', [device(1)]);
    expect((await job(wrongKey, 'push')).value).toMatchObject({ ok: true });
    await processNow(hub);
    expect(await files(hub)).toEqual(['failed_last_result.SYNC.encoded.N2.1.log']);
    expect((await notes(hub)).find((n) => n.level === 'alert')?.text).toMatch(
      /Failed to process last_result\.SYNC\.encoded\.N2\.1\.log/,
    );
  });

  it('pull turns refused connections, timeouts, 403 and non-JSON answers into alerts and carries on', async () => {
    const slow = createServer(() => {}); // never answers
    const junk = createServer((_req, res) => res.end('<html>not json</html>'));
    // issue 13: '../etc' is a legal node name now (mapped to one file name component); a control character is not
    const badName = createServer((_req, res) =>
      res.end(JSON.stringify({ node_name: 'bad\u0001name', data_base64: 'e30=' })),
    );
    for (const s of [slow, junk, badName]) {
      onTestFinished(async () => {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    }
    const port = (s: Server) => (s.address() as AddressInfo).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = port(closed);
    await new Promise((r) => closed.close(r));
    const other = await app({ apiToken: 'other-token' });
    const otherUrl = await other.listen();
    const good = await app({ nodeName: 'GOOD' });
    const goodUrl = await good.listen();
    await seed(good, 'L', [device(1)]);

    const hub = await app({
      pullTimeoutSeconds: 0.5,
      pullNodes: [
        `http://127.0.0.1:${closedPort}`,
        `http://127.0.0.1:${port(slow)}`,
        otherUrl,
        `http://127.0.0.1:${port(junk)}`,
        `http://127.0.0.1:${port(badName)}`,
        goodUrl,
      ],
    });
    const r = await job(hub, 'pull');
    expect(r.ok).toBe(true);
    const results = r.value as Array<{ ok: boolean; error?: string }>;
    expect(results.map((x) => x.ok)).toEqual([false, false, false, false, false, true]);
    expect(results[0]!.error).toMatch(/ECONNREFUSED/);
    expect(results[1]!.error).toBe('timed out');
    expect(results[2]!.error).toBe('status code 403');
    expect(results[3]!.error).toBe('the answer is not JSON');
    expect(results[4]!.error).toMatch(/node_name/);
    const alerts = (await notes(hub)).filter((n) => n.level === 'alert');
    expect(alerts).toHaveLength(5);
    expect(alerts.every((n) => n.text.startsWith('[Plugin: SYNC] Failed to pull data from "http://127.0.0.1:'))).toBe(
      true,
    );
    await processNow(hub);
    expect((await devices(hub)).devices.map((x) => x.devSyncHubNode)).toEqual(['GOOD']);
    expect(await files(hub)).toEqual(['processed_last_result.SYNC.GOOD.1.log']);
    // the process is still healthy
    expect((await hub.app.inject('/healthz')).statusCode).toBe(200);
  });

  it('registers the jobs with the configured crons only when there is something to pull or push', async () => {
    const a = await app({
      pullNodes: ['http://127.0.0.1:9'],
      pullCron: '*/7 * * * *',
      hubUrl: 'http://127.0.0.1:9',
      pushCron: '3 * * * *',
    });
    const jobs = a.app.scheduler.list();
    expect(jobs.find((j) => j.name === 'sync.pull')?.cron).toBe('*/7 * * * *');
    expect(jobs.find((j) => j.name === 'sync.push')?.cron).toBe('3 * * * *');
    const b = await app();
    expect(
      b.app.scheduler
        .list()
        .filter((j) => j.name.startsWith('sync.'))
        .map((j) => j.cron),
    ).toEqual([undefined, undefined]);
  });
});

describe('sync OpenAPI', () => {
  it('documents the /sync routes from their zod schemas', async () => {
    const a = await app();
    const spec = (await a.app.inject('/docs/json')).json<{
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
    }>();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/sync', '/sync/devices', '/sync/notifications', '/admin/sync/pull', '/admin/sync/push']),
    );
    const post = spec.paths['/sync']!.post!;
    expect(Object.keys(post.requestBody!.content)).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
    ]);
  });
});
