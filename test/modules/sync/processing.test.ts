/** Processing of stored payloads: decoding, device upserts, other plugins, failures, notifications, listing. */
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptData } from '../../../src/modules/sync/crypto.js';
import { openStore } from '../../../src/app.js';
import syncModule from '../../../src/modules/sync/index.js';
import { ADMIN, testConfig, type TestApp, closesItself } from '../../helpers/app.js';
import { PgStore } from '../../../src/core/pg.js';
import { onPostgres } from '../../helpers/driver.js';
import { AUTH, device, files, fileText, form, pluginDir, processNow, sql, syncApp } from './helpers.js';

async function post(app: TestApp, data: string, node = 'NODE-01', plugin = 'SYNC') {
  const r = await app.app.inject({ method: 'POST', url: '/sync', ...form({ data, node_name: node, plugin }) });
  expect(r.statusCode, r.body).toBe(200);
}

async function devices(app: TestApp, query = '') {
  const r = await app.app.inject({ url: `/sync/devices${query}`, headers: AUTH });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ total: number; limit: number; offset: number; devices: Array<Record<string, unknown>> }>();
}

async function notes(app: TestApp) {
  const r = await app.app.inject({ url: '/sync/notifications?limit=1000', headers: AUTH });
  expect(r.statusCode).toBe(200);
  return r.json<{ notifications: Array<{ id: number; time: string; level: string; text: string }> }>().notifications;
}

const metric = async (app: TestApp, re: RegExp) => {
  const text = (await app.app.inject('/metrics')).body;
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
};

describe('sync processing: devices', () => {
  it('inserts new devices with all fields; updates presence fields of known ones, devName only when empty', async () => {
    const t = closesItself(await syncApp());
    await post(
      t,
      JSON.stringify({
        data: [device(1, { devName: '(unknown)', devOwner: 'ops', rowid: 5, devStatus: 'On-line' }), device(2)],
      }),
      'N1',
    );
    await processNow(t);
    let d = await devices(t);
    expect(d.devices[0]).toMatchObject({
      devMac: 'aa:bb:cc:00:00:01',
      devName: '(unknown)',
      devOwner: 'ops',
      devSyncHubNode: 'N1',
    });
    expect(d.devices[0]).not.toHaveProperty('rowid');
    expect(d.devices[0]).not.toHaveProperty('devStatus');
    // the same devices from another node, upper/lower case mixed, new presence, another vendor
    const again = [
      device(1, {
        devMac: 'AA:bb:CC:00:00:01',
        devName: 'Printer',
        devLastIP: '10.9.9.1',
        devPresentLastScan: 0,
        devLastConnection: '2025-09-01 00:00:00',
        devVendor: 'Other',
        devOwner: 'x',
      }),
      device(2, { devName: 'Renamed', devLastIP: '10.9.9.2' }),
      device(3),
      { devMac: 'aa:bb:cc:00:00:03', devName: 'duplicate, first wins' },
      { devName: 'no mac' },
      'not an object',
    ];
    await post(t, JSON.stringify({ data: again }), 'N2');
    await processNow(t);
    d = await devices(t);
    expect(d.total).toBe(3);
    const [one, two, three] = d.devices;
    expect(one).toMatchObject({
      devMac: 'aa:bb:cc:00:00:01',
      devName: 'Printer',
      devLastIP: '10.9.9.1',
      devPresentLastScan: 0,
      devLastConnection: '2025-09-01 00:00:00',
      devVendor: 'Vendor A',
      devOwner: 'ops',
      devSyncHubNode: 'N2',
    });
    expect(two).toMatchObject({ devName: 'Device 2', devLastIP: '10.9.9.2', devSyncHubNode: 'N2' });
    expect(three).toMatchObject({ devMac: 'aa:bb:cc:00:00:03', devName: 'Device 3' });
    const texts = (await notes(t)).map((n) => n.text);
    expect(texts).toContain(
      '[Plugin: SYNC] Processed last_result.SYNC.encoded.N2.1.log from "N2": inserted "1" new devices, updated 2, 3 skipped (no devMac or duplicate)',
    );
    expect(await metric(t, /fieldhub_sync_devices_total\{result="inserted"\} (\d+)/)).toBe(3);
    expect(await metric(t, /fieldhub_sync_devices_total\{result="updated"\} (\d+)/)).toBe(2);
  });

  it('decrypts with the configured passphrase; the processed file holds the decoded JSON', async () => {
    const t = closesItself(await syncApp({ encryptionKey: 'correct horse' }));
    const json = JSON.stringify({ data: [device(1)] });
    await post(t, encryptData(json, 'correct horse'));
    await processNow(t);
    expect(await files(t)).toEqual(['processed_last_result.SYNC.NODE-01.1.log']);
    expect(await fileText(t, 'processed_last_result.SYNC.NODE-01.1.log')).toBe(json);
    expect((await devices(t)).total).toBe(1);
  });

  it('without a passphrase accepts plain JSON, base64 JSON, and data encrypted with the empty passphrase', async () => {
    const t = closesItself(await syncApp());
    await post(t, JSON.stringify({ data: [device(1)] }), 'P');
    await post(t, Buffer.from(JSON.stringify({ data: [device(2)] })).toString('base64'), 'B');
    await post(t, encryptData(JSON.stringify({ data: [device(3)] }), ''), 'E');
    await processNow(t);
    expect((await devices(t)).devices.map((d) => d.devSyncHubNode)).toEqual(['P', 'B', 'E']);
  });

  it('keeps a corrupt payload as failed_..., reports it (notification + metric) and goes on with the next', async () => {
    const t = closesItself(await syncApp({ encryptionKey: 'k1' }));
    await post(t, encryptData(JSON.stringify({ data: [device(1)] }), 'wrong key'), 'BAD');
    await post(t, 'this is not encrypted at all', 'BAD');
    await post(t, encryptData('{"data": [ {"devMac": ', 'k1'), 'BAD');
    await post(t, encryptData(JSON.stringify({ data: [device(2)] }), 'k1'), 'GOOD');
    await processNow(t);
    expect(await files(t)).toEqual([
      'failed_last_result.SYNC.encoded.BAD.1.log',
      'failed_last_result.SYNC.encoded.BAD.2.log',
      'failed_last_result.SYNC.encoded.BAD.3.log',
      'processed_last_result.SYNC.GOOD.1.log',
    ]);
    expect(await fileText(t, 'failed_last_result.SYNC.encoded.BAD.2.log')).toBe('this is not encrypted at all');
    expect((await devices(t)).devices.map((d) => d.devMac)).toEqual(['aa:bb:cc:00:00:02']);
    const alerts = (await notes(t)).filter((n) => n.level === 'alert').map((n) => n.text);
    expect(alerts).toHaveLength(3);
    expect(alerts.join('\n')).toMatch(
      /Failed to process last_result\.SYNC\.encoded\.BAD\.1\.log from "BAD": .*(decryption failed|UTF-8)/,
    );
    expect(alerts.join('\n')).toMatch(/BAD\.3\.log.*invalid JSON/);
    expect(await metric(t, /fieldhub_sync_payloads_total\{source="post",result="failed"\} (\d+)/)).toBe(3);
    const st = await sql(t, 'SELECT node, seq, status FROM sync_received ORDER BY id');
    expect(st).toEqual([
      { node: 'BAD', seq: 1, status: 'failed' },
      { node: 'BAD', seq: 2, status: 'failed' },
      { node: 'BAD', seq: 3, status: 'failed' },
      { node: 'GOOD', seq: 1, status: 'processed' },
    ]);
  });

  it('processes a 10,000-device encrypted payload', async () => {
    const t = closesItself(await syncApp({ encryptionKey: 'bulk' }));
    const list = Array.from({ length: 10_000 }, (_, i) => device(i));
    await post(t, encryptData(JSON.stringify({ data: list }), 'bulk'), 'BIG');
    await processNow(t);
    const d = await devices(t, '?node=BIG&limit=1000&offset=9000');
    expect(d.total).toBe(10_000);
    expect(d.devices).toHaveLength(1000);
    expect(d.devices[999]).toMatchObject({
      devMac: 'aa:bb:cc:00:27:0f',
      devName: 'Device 9999',
      devSyncHubNode: 'BIG',
    });
  });
});

describe('sync processing: other plugins', () => {
  it('stores pipe-delimited last_result rows and JSON rows per (plugin, node); the latest payload replaces the previous', async () => {
    const t = closesItself(await syncApp());
    const lines = [
      'aa:bb:cc:dd:ee:01|192.168.1.5|2025-08-24 10:00:00|host1|null|null|null|extra|fk1',
      'aa:bb:cc:dd:ee:02|192.168.1.6|2025-08-24 10:00:00|host2|a|b|c|x|fk2|h1|h2|h3|h4',
      '',
    ].join('\n');
    await post(t, lines, 'N1', 'ARPSCAN');
    await post(t, JSON.stringify({ data: [{ a: 1 }, { a: 2 }] }), 'N1', 'PIHOLE');
    await processNow(t);
    const rows = async (plugin: string) =>
      (
        await sql<{ data: string }>(
          t,
          'SELECT data FROM sync_plugin_rows WHERE plugin = ? AND node = ? ORDER BY idx',
          plugin,
          'N1',
        )
      ).map((r) => JSON.parse(r.data) as Record<string, unknown>);
    expect(await rows('ARPSCAN')).toEqual([
      {
        primaryId: 'aa:bb:cc:dd:ee:01',
        secondaryId: '192.168.1.5',
        dateTime: '2025-08-24 10:00:00',
        watched1: 'host1',
        watched2: 'null',
        watched3: 'null',
        watched4: 'null',
        extra: 'extra',
        foreignKey: 'fk1',
      },
      {
        primaryId: 'aa:bb:cc:dd:ee:02',
        secondaryId: '192.168.1.6',
        dateTime: '2025-08-24 10:00:00',
        watched1: 'host2',
        watched2: 'a',
        watched3: 'b',
        watched4: 'c',
        extra: 'x',
        foreignKey: 'fk2',
        helpVal1: 'h1',
        helpVal2: 'h2',
        helpVal3: 'h3',
        helpVal4: 'h4',
      },
    ]);
    expect(await rows('PIHOLE')).toEqual([{ a: 1 }, { a: 2 }]);
    await post(t, 'aa:bb:cc:dd:ee:03|1.1.1.1|t|w1|w2|w3|w4|e|f', 'N1', 'ARPSCAN');
    await post(t, 'only|three|columns', 'N1', 'ARPSCAN');
    await processNow(t);
    expect((await rows('ARPSCAN')).map((r) => r.primaryId)).toEqual(['aa:bb:cc:dd:ee:03']);
    expect(await files(t)).toContain('failed_last_result.ARPSCAN.encoded.N1.3.log');
    expect((await devices(t)).total).toBe(0);
  });
});

describe('sync: notifications and device listing', () => {
  it('lists notifications newest first with time, level and text', async () => {
    const t = closesItself(await syncApp());
    await post(t, JSON.stringify({ data: [device(1)] }), 'N1');
    await processNow(t);
    const n = await notes(t);
    expect(n.map((x) => [x.level, x.text])).toEqual([
      [
        'info',
        '[Plugin: SYNC] Processed last_result.SYNC.encoded.N1.1.log from "N1": inserted "1" new devices, updated 0',
      ],
      ['info', '[Plugin: SYNC] Data received (last_result.SYNC.encoded.N1.1.log)'],
    ]);
    expect(n[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const after = await t.app.inject({ url: `/sync/notifications?after_id=${n[1]!.id}`, headers: AUTH });
    expect(after.json().notifications).toHaveLength(1);
    const bad = await t.app.inject({ url: '/sync/notifications?limit=0', headers: AUTH });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ success: false, error: expect.stringContaining('limit') });
  });

  it('filters devices by node, mac (any case) and since, and pages them', async () => {
    const t = closesItself(await syncApp());
    await post(t, JSON.stringify({ data: [device(1), device(2), device(3)] }), 'N1');
    await processNow(t);
    const mid = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await post(t, JSON.stringify({ data: [device(4), device(5)] }), 'N2');
    await processNow(t);
    expect((await devices(t, '?node=N1')).devices.map((d) => d.devMac)).toEqual([
      'aa:bb:cc:00:00:01',
      'aa:bb:cc:00:00:02',
      'aa:bb:cc:00:00:03',
    ]);
    expect((await devices(t, '?mac=AA:BB:CC:00:00:05')).devices.map((d) => d.devSyncHubNode)).toEqual(['N2']);
    expect((await devices(t, `?since=${encodeURIComponent(mid)}`)).devices.map((d) => d.devMac)).toEqual([
      'aa:bb:cc:00:00:04',
      'aa:bb:cc:00:00:05',
    ]);
    const page = await devices(t, '?limit=2&offset=2');
    expect(page).toMatchObject({ total: 5, limit: 2, offset: 2 });
    expect(page.devices.map((d) => d.devMac)).toEqual(['aa:bb:cc:00:00:03', 'aa:bb:cc:00:00:04']);
    for (const q of ['?limit=5000', '?offset=-1', '?since=yesterday', `?node=${'x'.repeat(65)}`]) {
      const r = await t.app.inject({ url: `/sync/devices${q}`, headers: AUTH });
      expect(r.statusCode, q).toBe(400);
      expect(r.json().success).toBe(false);
    }
    const nf = await t.app.inject({ url: '/sync/nothing', headers: AUTH });
    expect(nf.statusCode).toBe(404);
    // issue 13: NetAlertX's own 404 body (was 'Route GET /sync/nothing not found')
    expect(nf.json()).toEqual({ success: false, error: 'API route not found' });
    expect(nf.headers['content-type']).toBe('application/json');
  });
});

describe('sync: concurrent posts', () => {
  it('60 parallel posts from 6 nodes get distinct consecutive sequence numbers and are all processed', async () => {
    const t = closesItself(await syncApp());
    const url = await t.listen();
    const nodes = ['N0', 'N1', 'N2', 'N3', 'N4', 'N5'];
    const posts = Array.from({ length: 60 }, (_, i) =>
      fetch(`${url}/sync`, {
        method: 'POST',
        headers: AUTH,
        body: new URLSearchParams({
          data: JSON.stringify({ data: [device(i)] }),
          node_name: nodes[i % 6]!,
          plugin: 'SYNC',
        }),
      }),
    );
    const answers = await Promise.all(posts);
    expect(answers.map((r) => r.status)).toEqual(Array(60).fill(200));
    await processNow(t);
    const seqs = new Map<string, number[]>();
    const done = await sql<{ node: string; seq: number }>(
      t,
      "SELECT node, seq FROM sync_received WHERE status = 'processed' ORDER BY node, seq",
    );
    for (const r of done) seqs.set(r.node, [...(seqs.get(r.node) ?? []), r.seq]);
    expect([...seqs]).toEqual(nodes.map((n) => [n, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]));
    expect(await files(t)).toHaveLength(60);
    expect((await files(t)).every((f) => f.startsWith('processed_last_result.SYNC.N'))).toBe(true);
    expect((await devices(t)).total).toBe(60);
  });
});

describe('sync: retrying failed payloads', () => {
  // the payloads as files (renamed, moved away): SQLite; PostgreSQL: the test below
  it.skipIf(onPostgres)(
    'after fixing the passphrase, /admin/sync/retry and `fieldhub sync retry-failed` process the kept payloads',
    async () => {
      let t = closesItself(await syncApp({ encryptionKey: 'wrong' }, { startScheduler: false }));
      const dataDir = t.config.dataDir;
      await post(t, encryptData(JSON.stringify({ data: [device(1)] }), 'right'), 'R1');
      await post(t, encryptData(JSON.stringify({ data: [device(2)] }), 'right'), 'R2');
      await processNow(t);
      expect(await files(t)).toEqual([
        'failed_last_result.SYNC.encoded.R1.1.log',
        'failed_last_result.SYNC.encoded.R2.1.log',
      ]);
      // the decode command shows why: it cannot decrypt either
      const out: string[] = [];
      const ctx = { config: t.config, store: t.app.store, log: t.app.log as never, out: (l: string) => out.push(l) };
      expect(
        await syncModule.commands!.decode!.run(
          [path.join(pluginDir(t), 'failed_last_result.SYNC.encoded.R1.1.log'), 'SYNC'],
          ctx,
        ),
      ).toBe(1);
      // a wrong passphrase fails the padding check, or (about 1 in 256 payloads) passes it and yields bytes that are not UTF-8
      expect(out[0]).toMatch(/cannot decode .*(decryption failed|not UTF-8 \(wrong passphrase\?\))/);
      await t.app.close();

      // fixed config, CLI retry of R1 only (R2's file was moved away meanwhile), then the admin route
      const cfg = testConfig({ sync: { apiToken: 'x', encryptionKey: 'right' } }, dataDir);
      const store = openStore(cfg, [syncModule]);
      const moved = path.join(dataDir, 'R2.keep');
      renameSync(path.join(dataDir, 'log', 'plugins', 'failed_last_result.SYNC.encoded.R2.1.log'), moved);
      const cliOut: string[] = [];
      try {
        const code = await syncModule.commands!['retry-failed']!.run([], {
          config: cfg,
          store,
          log: t.app.log as never,
          out: (l) => cliOut.push(l),
        });
        expect(code).toBe(0);
        const decoded: string[] = [];
        expect(
          await syncModule.commands!.decode!.run(
            [path.join(dataDir, 'log', 'plugins', 'last_result.SYNC.encoded.R1.1.log'), 'SYNC'],
            { config: cfg, store, log: t.app.log as never, out: (l) => decoded.push(l) },
          ),
        ).toBe(0);
        expect(JSON.parse(decoded[0]!)).toEqual({ data: [device(1)] });
      } finally {
        store.close();
      }
      expect(cliOut).toEqual(['1 payload(s) queued again']);

      t = closesItself(await syncApp({ encryptionKey: 'right' }, { dataDir, startScheduler: false }));
      await processNow(t);
      expect((await devices(t)).devices.map((d) => d.devSyncHubNode)).toEqual(['R1']);
      renameSync(moved, path.join(pluginDir(t), 'failed_last_result.SYNC.encoded.R2.1.log'));
      const r = await t.app.inject({ method: 'POST', url: '/admin/sync/retry', headers: ADMIN });
      expect(r.json()).toEqual({ requeued: 1 });
      expect((await devices(t)).devices.map((d) => d.devSyncHubNode)).toEqual(['R1', 'R2']);
      expect(await files(t)).toEqual(['processed_last_result.SYNC.R1.1.log', 'processed_last_result.SYNC.R2.1.log']);
      expect(t.app.store.db.prepare('SELECT status FROM sync_received ORDER BY id').pluck().all()).toEqual([
        'processed',
        'processed',
      ]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  );

  it.runIf(onPostgres)(
    'PostgreSQL: after fixing the passphrase, /admin/sync/retry and `fieldhub sync retry-failed` process the kept payloads',
    async () => {
      let t = closesItself(await syncApp({ encryptionKey: 'wrong' }, { startScheduler: false }));
      const dataDir = t.config.dataDir;
      await post(t, encryptData(JSON.stringify({ data: [device(1)] }), 'right'), 'R1');
      await post(t, encryptData(JSON.stringify({ data: [device(2)] }), 'right'), 'R2');
      await processNow(t);
      expect(await files(t)).toEqual([
        'failed_last_result.SYNC.encoded.R1.1.log',
        'failed_last_result.SYNC.encoded.R2.1.log',
      ]);
      // the decode command reads a stored payload by its name
      const out: string[] = [];
      const ctx = {
        config: t.config,
        store: undefined as never,
        pg: t.app.pg,
        log: t.app.log as never,
        out: (l: string) => out.push(l),
      };
      expect(await syncModule.commands!.decode!.run(['last_result.SYNC.encoded.R1.1.log', 'SYNC'], ctx)).toBe(1);
      // a wrong passphrase fails the padding check, or (about 1 in 256 payloads) passes it and yields bytes that are not UTF-8
      expect(out[0]).toMatch(/cannot decode .*(decryption failed|not UTF-8 \(wrong passphrase\?\))/);
      // R2's data taken away meanwhile: it cannot be queued again
      const r2 = await t.app.pg!.query<{ name: string; id: string; data: Buffer }>(
        "DELETE FROM sync_payloads WHERE name = 'last_result.SYNC.encoded.R2.1.log' RETURNING name, id, data",
      );
      await t.app.close();

      const cfg = testConfig({ sync: { apiToken: 'x', encryptionKey: 'right' } }, dataDir);
      const pg = await PgStore.open({ url: cfg.store.url! });
      const cliOut: string[] = [];
      const decoded: string[] = [];
      try {
        const cli = { config: cfg, store: undefined as never, pg, log: t.app.log as never };
        expect(await syncModule.commands!['retry-failed']!.run([], { ...cli, out: (l) => cliOut.push(l) })).toBe(0);
        expect(
          await syncModule.commands!.decode!.run(['last_result.SYNC.encoded.R1.1.log', 'SYNC'], {
            ...cli,
            out: (l) => decoded.push(l),
          }),
        ).toBe(0);
        expect(JSON.parse(decoded[0]!)).toEqual({ data: [device(1)] });
      } finally {
        await pg.close();
      }
      expect(cliOut).toEqual(['1 payload(s) queued again']);

      t = closesItself(await syncApp({ encryptionKey: 'right' }, { dataDir, startScheduler: false }));
      await processNow(t);
      expect((await devices(t)).devices.map((d) => d.devSyncHubNode)).toEqual(['R1']);
      const back = r2.rows[0]!;
      await t.app.pg!.query('INSERT INTO sync_payloads (name, id, data) VALUES ($1, $2, $3)', [
        back.name,
        back.id,
        back.data,
      ]);
      const r = await t.app.inject({ method: 'POST', url: '/admin/sync/retry', headers: ADMIN });
      expect(r.json()).toEqual({ requeued: 1 });
      expect((await devices(t)).devices.map((d) => d.devSyncHubNode)).toEqual(['R1', 'R2']);
      expect(await files(t)).toEqual(['processed_last_result.SYNC.R1.1.log', 'processed_last_result.SYNC.R2.1.log']);
      expect((await sql(t, 'SELECT status FROM sync_received ORDER BY id')).map((x) => x.status)).toEqual([
        'processed',
        'processed',
      ]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  );
});
