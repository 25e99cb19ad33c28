/**
 * The patriot module on store.driver "postgres" (issue 17): GET /clients answers the same bytes on both
 * drivers; `fieldhub patriot export-xml DIR` writes the SQLite layout from either driver; on
 * PostgreSQL the per-client files copied in by migrate-to-postgres (copyFilesToPg, re-runnable,
 * verified), and two replicas on one database: a write on A is read on B, and an import run by A
 * leaves nothing for B's next slot to upload again (real smbd).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/core/db.js';
import patriot from '../../../src/modules/patriot/index.js';
import { orderInfo, orderUser } from '../../../src/modules/patriot/store.js';
import { infoDefaults } from '../../../src/modules/patriot/schemas.js';
import { closesItself, makeApp, tempDir, type TestApp } from '../../helpers/app.js';
import { pgUrlFor } from '../../helpers/driver.js';
import { INFO, KEY_A, KEY_B, USER, buildPatriot, keysJson } from './helpers.js';
import { clientXml } from './helpers/clients.js';
import { importState, patriotImports, runImport, sharedIds } from './helpers/importer.js';
import { Smbd, smbdUnavailable } from './helpers/smbd.js';
import { onPostgres, psql, readXml } from './helpers/xml-db.js';

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function exportXml(t: TestApp, args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await patriot.commands!['export-xml']!.run(args, {
    config: t.config,
    store: (onPostgres ? null : t.app.store) as Store,
    pg: t.app.pg,
    log: pino({ level: 'silent' }),
    out: (l) => out.push(l),
  });
  return { code, out };
}

/** `<key>/<file>` -> text of every file under `dir` */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of readdirSync(dir))
    for (const f of readdirSync(path.join(dir, k))) out[`${k}/${f}`] = readFileSync(path.join(dir, k, f), 'utf8');
  return out;
}

describe('patriot on either driver', () => {
  it('GET /clients: the same bytes on both drivers (field order, zones and users keyed by number, escapes)', async () => {
    const t = await buildPatriot();
    const info = { ...INFO, Name: 'Åse "Ærlig" \\ Søn\tAS', SpecRequest: 'linje 1\nlinje 2 <&>' };
    expect((await t.req(KEY_A, 'PUT', '/clients', { client_id: 77, info })).statusCode).toBe(201);
    for (const [zone_id, area] of [
      [12, 'Kjeller "nord"'],
      [3, 'Stue\\kjøkken'],
    ] as const)
      await t.req(KEY_A, 'PUT', '/clients/zones', { client_id: 77, zone_id, Zone_area: area, ModuleNo: 2 });
    await t.req(KEY_A, 'POST', '/clients/users', { client_id: 77, user: { ...USER, UserNo: 10 } });
    await t.req(KEY_A, 'POST', '/clients/users', { client_id: 77, user: { ...USER, UserNo: 2, User_Name: 'Åge' } });
    const r = await t.req(KEY_A, 'GET', '/clients', undefined, { 'x-client-id': '77' });
    expect(r.statusCode).toBe(200);
    const zone = (no: number, area: string) => ({ Zone_No: no, Zone_area: area, ModuleNo: 2 });
    expect(r.body).toBe(
      JSON.stringify({
        client_id: 77,
        info: orderInfo({ ...infoDefaults(), ...info, InstallDateTime: INFO.InstallDateTime }),
        zones: { '3': zone(3, 'Stue\\kjøkken'), '12': zone(12, 'Kjeller "nord"') },
        users: { '2': orderUser({ ...USER, UserNo: 2, User_Name: 'Åge' }), '10': orderUser({ ...USER, UserNo: 10 }) },
      }),
    );
  });

  it('export-xml DIR writes <key>/<client>.xml as the SQLite mode keeps them; DIR is checked', async () => {
    const t = await buildPatriot();
    await t.req(KEY_A, 'PUT', '/clients', { client_id: 1, info: INFO });
    await t.req(KEY_A, 'PUT', '/clients', { client_id: 2, info: { ...INFO, Name: 'Kari' } });
    await t.req(KEY_B, 'PUT', '/clients', { client_id: 1, info: INFO });
    await t.req(KEY_A, 'DELETE', '/clients', { client_id: 2 });
    const dir = path.join(tempDir(), 'export');
    const r = await exportXml(t, [dir]);
    expect(r).toEqual({ code: 0, out: [`export-xml: 2 client XML file(s) written to ${dir}`] });
    const files = tree(dir);
    expect(Object.keys(files).sort()).toEqual(['Alarm24/1.xml', 'InstallerX/1.xml']);
    // the same text as the live XML (the file on SQLite, the row on PostgreSQL)
    for (const [rel, text] of Object.entries(files))
      expect(text).toBe(readXml(path.join(t.config.patriot.xmlDir, rel)));
    expect(files['Alarm24/1.xml']).toContain('<__id>1BASE11</__id>');
    // a re-run replaces the files (no temp files left)
    expect((await exportXml(t, [dir])).code).toBe(0);
    expect(readdirSync(path.join(dir, 'Alarm24'))).toEqual(['1.xml']);
    // DIR: required, not the live XML dir nor inside it, not a file
    expect((await exportXml(t, [])).code).toBe(2);
    expect((await exportXml(t, [t.config.patriot.xmlDir])).out[0]).toMatch(/overlaps the XML dir/);
    expect((await exportXml(t, [path.join(t.config.patriot.xmlDir, 'x')])).code).toBe(2);
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, '');
    expect((await exportXml(t, [file])).out[0]).toMatch(/is not a directory/);
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});

describe.runIf(onPostgres)('patriot on PostgreSQL', () => {
  it('copyFilesToPg copies the per-client files of the data dir (re-runnable, verified); export-xml gives them back byte for byte', async () => {
    const t = await buildPatriot();
    const src = tempDir();
    const xmlDir = path.join(src, 'out', 'clients');
    // the files as the SQLite mode left them (written directly, not through the test's row helper)
    const files: Record<string, string> = {
      'Alarm24/1.xml': clientXml(1, 'BASE11', 'Ærlig & Søn'),
      'Alarm24/20.xml': clientXml(20, 'BASE11'),
      'InstallerX/1.xml': clientXml(1, 'BASE05'),
    };
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(xmlDir, rel)), { recursive: true });
      writeFileSync(path.join(xmlDir, rel), text);
    }
    writeFileSync(path.join(xmlDir, 'Alarm24', '.3.xml.claimed-r1'), 'a claimed copy: not a client file');
    writeFileSync(path.join(xmlDir, 'Alarm24', '4.xml.123456'), 'a temp file');
    const first = await patriot.copyFilesToPg!(src, t.app.pg!);
    expect(first.files).toBe(3);
    expect(await patriot.verifyFilesPg!(t.app.pg!)).toEqual(first);
    expect(await patriot.copyFilesToPg!(src, t.app.pg!)).toEqual(first);
    expect(psql(t.config.dataDir, 'SELECT count(*) FROM patriot_client_xml;')).toBe('3\n');
    const out = path.join(tempDir(), 'export');
    expect((await exportXml(t, [out])).code).toBe(0);
    expect(tree(out)).toEqual(files);
    // a changed row no longer verifies
    psql(t.config.dataDir, "UPDATE patriot_client_xml SET xml = xml || ' ' WHERE client_id = 20;");
    expect((await patriot.verifyFilesPg!(t.app.pg!)).checksum).not.toBe(first.checksum);
    rmSync(src, { recursive: true, force: true });
  });
});

const unavailable = smbdUnavailable();

describe.runIf(onPostgres && !unavailable)('two replicas on one database (real smbd)', () => {
  let smbd: Smbd;
  beforeAll(async () => {
    smbd = new Smbd();
    await smbd.start();
  });
  afterAll(async () => {
    await smbd?.destroy();
  });

  async function replica(url: string): Promise<TestApp> {
    const dataDir = tempDir('fieldhub-patriot-replica-');
    writeFileSync(path.join(dataDir, 'keys.json'), JSON.stringify(keysJson()));
    return closesItself(
      await makeApp(
        { store: { driver: 'postgres', url }, patriot: { smb: smbd.smbConfig() } },
        { modules: [patriot], dataDir, startScheduler: false },
      ),
    );
  }

  it('a write on A is read by GET on B; an import run by A leaves nothing for B to upload twice; runs at once never overlap', async () => {
    const url = pgUrlFor(tempDir('fieldhub-patriot-shared-db-'));
    const a = await replica(url);
    const b = await replica(url);
    const put = (t: TestApp, id: number, name = INFO.Name) =>
      t.app.inject({
        method: 'PUT',
        url: '/clients',
        headers: auth(KEY_A),
        payload: { client_id: id, info: { ...INFO, Name: name } },
      });
    const get = (t: TestApp, id: number) =>
      t.app.inject({ url: '/clients', headers: { ...auth(KEY_A), 'x-client-id': String(id) } });
    for (const id of [1, 2, 3]) expect((await put(a, id)).statusCode).toBe(201);
    const onA = await get(a, 2);
    const onB = await get(b, 2);
    expect(onB.statusCode).toBe(200);
    expect(onB.body).toBe(onA.body);

    // A's run uploads the three; B's next slot finds nothing left to upload
    expect(await runImport(a)).toMatchObject({ result: 'ok', clients: 3 });
    expect(sharedIds(smbd.shareDir).sort()).toEqual(['1BASE11', '2BASE11', '3BASE11']);
    patriotImports(smbd.shareDir);
    const next = await runImport(b);
    expect(next).toMatchObject({ result: 'empty', clients: 0, checked: 3, check_failed: 0 });
    expect((await importState(b)).counts).toEqual({ imported: 3 });

    // a change on B goes in the next run, whichever replica runs it, once
    expect((await put(b, 2, 'endret på B')).statusCode).toBe(200);
    for (const id of [4, 5]) expect((await put(a, id)).statusCode).toBe(201);
    // both replicas run at once (e.g. "run now" on each): never together (one is refused or finds nothing); each client goes once
    for (const n of readdirSync(smbd.shareDir)) rmSync(path.join(smbd.shareDir, n), { force: true, recursive: true });
    const runs = await Promise.all(
      [a, b].map((t) =>
        t.app.inject({
          method: 'POST',
          url: '/admin/patriot/import-runs',
          headers: { authorization: 'Bearer admin-secret-token' },
        }),
      ),
    );
    const ok = runs
      .filter((r) => r.statusCode === 200)
      .map((r) => r.json<{ run: { result: string; clients: number } }>().run);
    const refused = runs.filter((r) => r.statusCode === 409);
    expect(ok.length + refused.length).toBe(2);
    expect(ok.reduce((n, r) => n + r.clients, 0)).toBe(3);
    // every clients.xml that reached the share (a later empty run may have rotated it): each client once
    const uploaded = readdirSync(smbd.shareDir).filter((n) => n.endsWith('.xml'));
    expect(uploaded.flatMap((n) => sharedIds(smbd.shareDir, n)).sort()).toEqual(['2BASE11', '4BASE11', '5BASE11']);
    expect(uploaded.map((n) => readFileSync(path.join(smbd.shareDir, n), 'utf8')).join('')).toContain('endret på B');
    // Patriot confirms them: nothing is left for either replica
    patriotImports(smbd.shareDir);
    expect(await runImport(b)).toMatchObject({ result: 'empty', clients: 0, checked: 3, check_failed: 0 });
    expect(await runImport(a)).toMatchObject({ result: 'empty', clients: 0 });
    expect((await importState(a)).counts).toEqual({ imported: 5 });
  });
});
