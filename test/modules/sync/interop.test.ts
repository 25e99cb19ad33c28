/**
 * Issue 13: fieldhub with every NetAlertX release, both directions, against the peer simulator
 * (netalertx-sim.ts): 26.1-style and 26.6-style hubs and nodes, devices from three sources mixed,
 * encrypted and plain, empty and dotted node names.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN, closesItself, type TestApp } from '../../helpers/app.js';
import { files, form, processNow, syncApp, TOKEN } from './helpers.js';
import { encrypt, SimHub, SimNode, type Release } from './netalertx-sim.js';

/** A device as a real NetAlertX node serves it: every column, none at its default. */
const REAL: Record<string, unknown> = {
  devMac: 'aa:00:00:00:00:01',
  devName: 'Real laptop',
  devOwner: 'Ann',
  devType: 'Laptop',
  devVendor: 'Lenovo',
  devFavorite: 1,
  devGroup: 'Office',
  devComments: 'desk 4',
  devFirstConnection: '2026-01-02 03:04:05',
  devLastConnection: '2026-02-03 04:05:06',
  devLastIP: '192.168.1.20',
  devPrimaryIPv4: '192.168.1.20',
  devPrimaryIPv6: 'fe80::1',
  devVlan: '10',
  devForceStatus: 'online',
  devStaticIP: 1,
  devScan: 0,
  devLogEvents: 0,
  devAlertEvents: 0,
  devAlertDown: 1,
  devSkipRepeated: 1,
  devLastNotification: '2026-02-01 00:00:00',
  devPresentLastScan: 1,
  devIsNew: 0,
  devLocation: 'Floor 2',
  devIsArchived: 1,
  devParentMAC: 'aa:00:00:00:00:ff',
  devParentPort: 7,
  devParentRelType: 'wifi',
  devIcon: 'laptop',
  devGUID: '0b1e0c2a-0000-4000-8000-000000000001',
  devSite: 'HQ',
  devSSID: 'corp',
  devSyncHubNode: 'elsewhere',
  devSourcePlugin: 'ARPSCAN',
  devFQDN: 'laptop.corp',
  devMacSource: 'ARPSCAN',
  devNameSource: 'NSLOOKUP',
  devFQDNSource: 'NSLOOKUP',
  devLastIPSource: 'ARPSCAN',
  devVendorSource: 'ARPSCAN',
  devSSIDSource: 'UNIFI',
  devParentMACSource: 'USER',
  devParentPortSource: 'USER',
  devParentRelTypeSource: 'USER',
  devVlanSource: 'UNIFI',
  devCustomProps: '{"rack":"B"}',
};
/** posted by hand with curl: four fields */
const CURL = { devMac: 'AA:00:00:00:00:02', devName: 'curl box', devVendor: 'Acme', devLastIP: '10.0.0.2' };
/** extra keys, a boolean as `true`, keys out of NetAlertX's order */
const EXTRA = {
  devLastIP: '10.0.0.3',
  customThing: 42,
  devFavorite: true,
  devMac: 'aa:00:00:00:00:03',
  devOwner: 'Eve',
  devVendorPrivate: 'x',
};

/** The NetAlertX default of every column a device lacks (peer-notes), NOT NULL ones never null. */
const DEFAULTS: Record<string, unknown> = {
  devName: '(unknown)',
  devOwner: '(unknown)',
  devFavorite: 0,
  devStaticIP: 0,
  devScan: 1,
  devLogEvents: 1,
  devAlertEvents: 1,
  devAlertDown: 0,
  devSkipRepeated: 0,
  devPresentLastScan: 0,
  devIsNew: 1,
  devIsArchived: 0,
};
const TIME = expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

function expected(d: Record<string, unknown>, hubNode: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(REAL)) out[k] = k in d ? d[k] : k in DEFAULTS ? DEFAULTS[k] : null;
  out.devMac = String(d.devMac).toLowerCase();
  if (d.devFavorite === true) out.devFavorite = 1;
  if (!('devFirstConnection' in d)) out.devFirstConnection = TIME;
  if (!('devLastConnection' in d)) out.devLastConnection = TIME;
  out.devSyncHubNode = hubNode;
  return out;
}

async function sim<T extends { start(): Promise<string>; stop(): Promise<void> }>(s: T): Promise<T> {
  await s.start();
  onTestFinished(() => s.stop());
  return s;
}

/** fieldhub as a hub holding devices of three sources: a 26.6 node "site.a" (JSON), curl (form, empty node name), a 26.1 node "x.y" (form). */
async function fieldhubWithMix(key: string, cfg: Record<string, unknown> = {}): Promise<TestApp> {
  const fh = await syncApp({ encryptionKey: key, nodeName: '', ...cfg });
  closesItself(fh);
  const url = await fh.listen();
  expect(await new SimNode('26.6', { name: 'site.a', token: TOKEN, key, devices: [REAL] }).push(url)).toBe(200);
  // curl on a hub with a passphrase must encrypt too (the hub always decrypts then)
  const json = JSON.stringify({ data: [CURL] });
  const f = form({ data: key ? encrypt(json, key) : json, node_name: '', plugin: 'SYNC' });
  expect((await fh.app.inject({ method: 'POST', url: '/sync', ...f })).statusCode).toBe(200);
  expect(await new SimNode('26.1', { name: 'x.y', token: TOKEN, key, devices: [EXTRA] }).push(url)).toBe(200);
  await processNow(fh);
  expect(await files(fh)).toEqual([
    'processed_last_result.SYNC..1.log',
    'processed_last_result.SYNC.site.a.1.log',
    'processed_last_result.SYNC.x.y.1.log',
  ]);
  return fh;
}

async function push(fh: TestApp) {
  const r = await fh.app.inject({ method: 'POST', url: '/admin/sync/push', headers: ADMIN });
  return r.json<{ value: unknown }>().value;
}

describe.each([
  ['plain', ''],
  ['encrypted', 'shared p4ss'],
])('fieldhub and NetAlertX hubs 26.1 and 26.6 (%s)', (_label, key) => {
  it.each<Release>(['26.1', '26.6'])(
    'fieldhub pushes to a %s hub (hubFormat auto) and every device lands with every column right',
    async (release) => {
      const hub = await sim(new SimHub(release, { token: TOKEN, key, answerSuccess: release === '26.6' }));
      const fh = await fieldhubWithMix(key, { hubFormat: 'auto', hubUrl: hub.url });
      expect(await push(fh)).toEqual({ ok: true, status: 200, devices: 3 });
      expect(hub.errors).toEqual([]);
      const node = release === '26.1' ? 'encoded' : ''; // 26.1 takes the wrong part of the file name
      expect(hub.rows()).toEqual([expected(REAL, node), expected(CURL, node), expected(EXTRA, node)]);
      // 26.1: the JSON post stored empty fields, the form worked and is remembered; 26.6: JSON at once
      const formats = hub.posts.map((p) => p.contentType);
      expect(formats).toEqual(
        release === '26.1' ? ['application/json', 'application/x-www-form-urlencoded'] : ['application/json'],
      );
      expect(hub.posts.at(-1)!.node_name).toBe('');
      await push(fh);
      expect(hub.posts.slice(formats.length).map((p) => p.contentType)).toEqual([
        release === '26.1' ? 'application/x-www-form-urlencoded' : 'application/json',
      ]);
    },
  );

  it.each<Release>(['26.1', '26.6'])(
    'a %s hub pulls fieldhub (node name empty) and inserts every device with every column right',
    async (release) => {
      const fh = await fieldhubWithMix(key);
      const hub = await sim(new SimHub(release, { token: TOKEN, key }));
      expect(await hub.pull(fh.url)).toEqual({ status: 200, node_name: '' });
      expect(hub.errors).toEqual([]);
      expect(hub.rows()).toEqual([expected(REAL, ''), expected(CURL, ''), expected(EXTRA, '')]);
    },
  );
});

describe('fieldhub and NetAlertX: formats, extra keys, node names', () => {
  it('a 26.6 hub that answers a bare message: the form is tried, its 415 proves JSON worked, JSON is remembered', async () => {
    const hub = await sim(new SimHub('26.6', { token: TOKEN, key: '' }));
    const fh = await fieldhubWithMix('', { hubUrl: hub.url });
    expect(await push(fh)).toEqual({ ok: true, status: 200, devices: 3 });
    expect(hub.posts.map((p) => p.contentType)).toEqual(['application/json']);
    expect(hub.rows()).toHaveLength(3);
    await push(fh);
    expect(hub.posts.map((p) => p.contentType)).toEqual(['application/json', 'application/json']);
  });

  it('hubFormat json to a 26.1 hub stores nothing recognisable; hubFormat form to a 26.6 hub is a 415', async () => {
    const old = await sim(new SimHub('26.1', { token: TOKEN, key: '' }));
    const fh = await fieldhubWithMix('', { hubFormat: 'json', hubUrl: old.url });
    expect(await push(fh)).toEqual({ ok: true, status: 200, devices: 3 });
    expect(old.posts).toEqual([{ contentType: 'application/json', node_name: '', plugin: '', data: '' }]);
    expect(old.rows()).toEqual([]);
    const current = await sim(new SimHub('26.6', { token: TOKEN, key: '' }));
    const fh2 = await fieldhubWithMix('', { hubFormat: 'form', hubUrl: current.url });
    expect(await push(fh2)).toEqual({ ok: false, status: 415 });
  });

  it('with sync.serveExtraKeys a 26.1 hub fails on the unknown columns (inserts nothing) and a 26.6 hub drops them: why it is off by default', async () => {
    const fh = await fieldhubWithMix('', { serveExtraKeys: true });
    const old = await sim(new SimHub('26.1', { token: TOKEN, key: '' }));
    await old.pull(fh.url);
    expect(old.rows()).toEqual([]);
    expect(old.errors[0]).toMatch(/customThing|devVendorPrivate/);
    const current = await sim(new SimHub('26.6', { token: TOKEN, key: '' }));
    await current.pull(fh.url);
    expect(current.rows()).toEqual([expected(REAL, ''), expected(CURL, ''), expected(EXTRA, '')]);
  });

  it.each(['', 'shared p4ss'])(
    'fieldhub pulls a 26.1 node named "" and a 26.6 node named "site.b" (key %j): names kept, files safe',
    async (key) => {
      const n1 = await sim(new SimNode('26.1', { name: '', token: TOKEN, key, devices: [CURL] }));
      const n6 = await sim(new SimNode('26.6', { name: 'site.b', token: TOKEN, key, devices: [REAL] }));
      const fh = await syncApp({ encryptionKey: key, pullNodes: [n1.url, n6.url] });
      closesItself(fh);
      const r = await fh.app.inject({ method: 'POST', url: '/admin/sync/pull', headers: ADMIN });
      expect(r.json<{ value: Array<{ ok: boolean; node: string }> }>().value.map((x) => [x.ok, x.node])).toEqual([
        [true, ''],
        [true, 'site.b'],
      ]);
      await processNow(fh);
      expect(await files(fh)).toEqual(['processed_last_result.SYNC..1.log', 'processed_last_result.SYNC.site.b.1.log']);
      const d = (await fh.app.inject({ url: '/sync/devices', headers: { authorization: `Bearer ${TOKEN}` } })).json<{
        devices: Array<Record<string, unknown>>;
      }>();
      expect(d.devices.map((x) => [x.devMac, x.devSyncHubNode])).toEqual([
        ['aa:00:00:00:00:01', 'site.b'],
        ['aa:00:00:00:00:02', ''],
      ]);
      const byNode = (
        await fh.app.inject({ url: '/sync/devices?node=', headers: { authorization: `Bearer ${TOKEN}` } })
      ).json<{ total: number }>();
      expect(byNode.total).toBe(1);
    },
  );
});
