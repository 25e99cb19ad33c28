/**
 * End to end with the API: installers' requests write per-client XML, the import run combines it
 * and uploads clients.xml to a real smbd, Patriot's results feed back into the client state, and
 * failed clients are regenerated from the store by the API's writer.
 */
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, closesItself } from '../../helpers/app.js';
import { INFO, KEY_A, KEY_B, USER, makePatriot, type PatriotApp } from './helpers.js';
import { importState, patriotImports, runImport, sharedIds, xmlFiles } from './helpers/importer.js';
import { Smbd, smbdUnavailable } from './helpers/smbd.js';
import { readXml } from './helpers/xml-db.js';

const unavailable = smbdUnavailable();
if (unavailable) console.warn(`patriot end-to-end import tests skipped: ${unavailable}`);

const rowOf = (xml: string) => xml.slice(xml.indexOf('<Row>'), xml.lastIndexOf('</Row>') + 6);

describe.skipIf(unavailable)('patriot API -> combine -> SMB upload (real smbd)', () => {
  let smbd: Smbd;
  let t: PatriotApp | undefined;
  beforeAll(async () => {
    smbd = new Smbd();
    await smbd.start();
  });
  afterAll(async () => {
    await smbd?.destroy();
  });
  beforeEach(() => {
    for (const n of readdirSync(smbd.shareDir)) rmSync(path.join(smbd.shareDir, n), { force: true, recursive: true });
  });

  async function createClient(key: string, id: number, name = INFO.Name) {
    expect((await t!.req(key, 'PUT', '/clients', { client_id: id, info: { ...INFO, Name: name } })).statusCode).toBe(
      201,
    );
    expect(
      (
        await t!.req(key, 'PUT', '/clients/zones', {
          client_id: id,
          zone_id: 1,
          Zone_area: 'Stue og kjøkken',
          ModuleNo: 0,
        })
      ).statusCode,
    ).toBe(201);
    expect((await t!.req(key, 'POST', '/clients/users', { client_id: id, user: USER })).statusCode).toBe(201);
  }

  it('two keys with the same client id reach Patriot byte-exact; results mark them imported or failed; a failed one is regenerated and carried again', async () => {
    t = closesItself(await makePatriot({ smb: smbd.smbConfig() }));
    await createClient(KEY_A, 1234, 'Åse Ærlig & Søn');
    await createClient(KEY_B, 1234);
    await createClient(KEY_A, 9998);
    const perClient = [t.xml('Alarm24', 1234), t.xml('InstallerX', 1234), t.xml('Alarm24', 9998)].map((f) =>
      rowOf(readXml(f)),
    );
    expect((await importState(t)).counts).toEqual({ changed: 3 });

    const run = await runImport(t);
    expect(run).toMatchObject({ result: 'ok', clients: 3 });
    const remote = readFileSync(path.join(smbd.shareDir, 'clients.xml'), 'utf8');
    expect(sharedIds(smbd.shareDir).sort()).toEqual(['1234BASE05', '1234BASE11', '9998BASE11']);
    for (const row of perClient) expect(remote).toContain(row); // byte-exact, æøå included
    expect(remote).toContain('Åse Ærlig &amp; Søn');
    expect(xmlFiles(t.config.patriot.xmlDir)).toEqual([]);
    expect((await importState(t)).counts).toEqual({ pending_import: 3 });

    // Patriot fails InstallerX's client; the next run marks it and the API's writer regenerates it
    patriotImports(smbd.shareDir, ['1234BASE05']);
    const run2 = await runImport(t);
    expect(run2).toMatchObject({ result: 'empty', checked: 3, check_failed: 1, failed_ids: ['1234BASE05'] });
    expect(xmlFiles(t.config.patriot.xmlDir)).toEqual(['InstallerX/1234.xml']);
    expect(rowOf(readXml(t.xml('InstallerX', 1234)))).toBe(perClient[1]);
    expect((await importState(t, '?key_name=InstallerX')).items).toEqual([
      expect.objectContaining({ id: '1234BASE05', client_id: 1234, status: 'import_failed', attempts: 1 }),
    ]);
    expect((await importState(t, '?status=imported')).total).toBe(2);
    expect(readFileSync(path.join(t.config.dataDir, 'import_errors.log'), 'utf8')).toMatch(
      /- ERROR - 1234BASE05: import not confirmed/,
    );

    const run3 = await runImport(t);
    expect(run3).toMatchObject({ result: 'ok', clients: 1 });
    expect(sharedIds(smbd.shareDir)).toEqual(['1234BASE05']);
    expect((await importState(t, '?id=1234BASE05')).items[0]).toMatchObject({ status: 'pending_import', attempts: 1 });
    const state = JSON.parse(readFileSync(path.join(t.config.dataDir, 'client_state.json'), 'utf8'));
    expect(Object.keys(state).sort()).toEqual(['1234BASE05', '1234BASE11', '9998BASE11']);
    expect(state['1234BASE11']).toEqual({
      status: 'imported',
      last_batch: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
    });

    // an edit by the installer is a new version: uploaded again, its attempts start afresh
    patriotImports(smbd.shareDir);
    expect((await t.req(KEY_B, 'PATCH', '/clients', { client_id: 1234, info: { Name: 'Ny Eier' } })).statusCode).toBe(
      200,
    );
    const run4 = await runImport(t);
    expect(run4).toMatchObject({ result: 'ok', clients: 1, check_failed: 0 });
    expect(readFileSync(path.join(smbd.shareDir, 'clients.xml'), 'utf8')).toContain('Ny Eier');
    expect((await importState(t, '?id=1234BASE05')).items[0]).toMatchObject({ status: 'pending_import', attempts: 0 });
  });

  it('an API change during the upload is not lost: the client stays changed and its new version goes next', async () => {
    t = closesItself(await makePatriot({ smb: smbd.smbConfig() }));
    const url = await t.listen();
    await createClient(KEY_A, 1, 'First Name');
    await createClient(KEY_A, 2);
    const dir = tempDir();
    const wrapper = path.join(dir, 'smbclient.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh
case "$*" in *"-c put "*) curl -sf -X PATCH -H 'authorization: Bearer ${KEY_A}' -H 'content-type: application/json' -d '{"client_id":1,"info":{"Name":"Changed Mid-Run"}}' ${url}/clients > ${dir}/curl.out || exit 1 ;; esac
exec smbclient "$@"
`,
    );
    chmodSync(wrapper, 0o755);
    t.config.patriot.smb.smbclientPath = wrapper;
    const run = await runImport(t);
    expect(run).toMatchObject({ result: 'ok', clients: 2 });
    expect(readFileSync(path.join(dir, 'curl.out'), 'utf8')).toMatch(/Changed Mid-Run/);
    expect(readFileSync(path.join(smbd.shareDir, 'clients.xml'), 'utf8')).toContain('First Name');
    expect(xmlFiles(t.config.patriot.xmlDir)).toEqual(['Alarm24/1.xml']);
    expect((await importState(t)).items.map((i) => [i.client_id, i.status])).toEqual([
      [1, 'changed'],
      [2, 'pending_import'],
    ]);

    t.config.patriot.smb.smbclientPath = 'smbclient';
    patriotImports(smbd.shareDir);
    expect(await runImport(t)).toMatchObject({ result: 'ok', clients: 1, check_failed: 0 });
    expect(readFileSync(path.join(smbd.shareDir, 'clients.xml'), 'utf8')).toContain('Changed Mid-Run');
    expect((await importState(t)).counts).toEqual({ pending_import: 1, imported: 1 });
  });
});
