/**
 * The import pipeline against a real smbd (see helpers/smbd.ts): full runs, the results check,
 * faults (wrong password, smbd down, read-only share, timeout), updates during a run, rejects.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../../helpers/app.js';
import { tempDir, closesItself } from '../../helpers/app.js';
import { stampTime } from '../../../src/modules/patriot/import/logs.js';
import { writeClient } from './helpers/clients.js';
import {
  ADMIN,
  combineCli,
  importApp,
  importState,
  patriotImports,
  rotated,
  runImport,
  sharedIds,
  xmlFiles,
} from './helpers/importer.js';
import { Smbd, smbdUnavailable } from './helpers/smbd.js';
import { notifications, readXml } from './helpers/xml-db.js';
import { cliConfig, xmlRowWriteCommand } from './helpers/xml-db.js';

const unavailable = smbdUnavailable();
if (unavailable) console.warn(`patriot import smbd tests skipped: ${unavailable}`);

describe.skipIf(unavailable)('patriot import over SMB (real smbd)', () => {
  let smbd: Smbd;
  let t: TestApp | undefined;
  beforeAll(async () => {
    smbd = new Smbd();
    await smbd.start();
  });
  afterAll(async () => {
    await smbd?.destroy();
  });
  beforeEach(async () => {
    if (!smbd.running) await smbd.start();
    for (const n of readdirSync(smbd.shareDir)) rmSync(path.join(smbd.shareDir, n), { force: true, recursive: true });
  });

  const secrets = () => [smbd.password, 'Wr0ng-pässword!'];
  async function expectNoSecretInLogs(app: TestApp) {
    const texts = [app.logs.text];
    for (const f of ['xml_combine.log', 'import_errors.log']) {
      const p = path.join(app.config.dataDir, f);
      if (existsSync(p)) texts.push(readFileSync(p, 'utf8'));
    }
    texts.push(JSON.stringify(notifications(app.app)));
    texts.push((await app.app.inject({ url: '/admin/patriot/import-runs', headers: ADMIN })).body);
    for (const s of secrets()) for (const text of texts) expect(text).not.toContain(s);
    expect(
      existsSync(path.join(app.config.dataDir, 'patriot-import', 'auth'))
        ? readdirSync(path.join(app.config.dataDir, 'patriot-import', 'auth'))
        : [],
    ).toEqual([]);
  }

  it('full run: combined clients.xml on the share, state pending_import, local files deleted; the next run rotates it', async () => {
    t = closesItself(await importApp({ patriot: { smb: smbd.smbConfig() } }));
    const xmlDir = t.config.patriot.xmlDir;
    writeClient(xmlDir, 'Alarm24', 9998, 'BASE11', { ageS: 30 });
    writeClient(xmlDir, 'Alarm24', 1234, 'BASE11', { ageS: 20, name: 'Ærlig & Søt <AS>' });
    writeClient(xmlDir, 'InstallerX', 1234, 'BASE05', { ageS: 10 });
    const run = await runImport(t);
    expect(run).toMatchObject({ result: 'ok', clients: 3, rejected: 0, waiting: 0, rotated_as: null, error: null });
    // oldest first, byte-exact rows, local copy identical to the uploaded one
    expect(sharedIds(smbd.shareDir)).toEqual(['9998BASE11', '1234BASE11', '1234BASE05']);
    const remote = readFileSync(path.join(smbd.shareDir, 'clients.xml'));
    expect(remote.equals(readFileSync(path.join(t.config.dataDir, 'ready_for_import', 'clients.xml')))).toBe(true);
    expect(remote.toString('utf8')).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?>\n<Clients>\n<Row>/);
    expect(remote.toString('utf8')).toContain('<Name>Ærlig &amp; Søt &lt;AS&gt;</Name>');
    expect(remote.toString('utf8')).toContain('<Zone_area>Stue &amp; kjøkken</Zone_area>');
    expect(run.bytes).toBe(remote.length);
    expect(readdirSync(smbd.shareDir)).toEqual(['clients.xml']); // no .part left
    expect(xmlFiles(xmlDir)).toEqual([]);

    const state = await importState(t);
    expect(state.total).toBe(3);
    const batch = (state.items[0] as { last_batch: string }).last_batch;
    expect(batch).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(state.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: '9998BASE11',
          key_name: 'Alarm24',
          client_id: 9998,
          status: 'pending_import',
          last_batch: batch,
          attempts: 0,
        }),
        expect.objectContaining({
          id: '1234BASE05',
          key_name: 'InstallerX',
          client_id: 1234,
          status: 'pending_import',
        }),
      ]),
    );
    expect((await importState(t, '?key_name=InstallerX')).items.map((i) => i.id)).toEqual(['1234BASE05']);
    expect((await importState(t, '?id=1234BASE11')).items.map((i) => i.key_name)).toEqual(['Alarm24']);
    expect(JSON.parse(readFileSync(path.join(t.config.dataDir, 'client_state.json'), 'utf8'))).toEqual({
      '9998BASE11': { status: 'pending_import', last_batch: batch },
      '1234BASE11': { status: 'pending_import', last_batch: batch },
      '1234BASE05': { status: 'pending_import', last_batch: batch },
    });

    // Patriot imports everything; a new client arrives; the next run checks, rotates and uploads
    patriotImports(smbd.shareDir);
    writeClient(xmlDir, 'Alarm24', 5, 'BASE11');
    // archives of this minute exist already (a slow machine may take seconds to get there): smbclient's rename refuses (NAME_COLLISION), the next name is used
    const taken = Array.from({ length: 60 }, (_, k) => k).map(
      (k) => `clients_${stampTime(new Date(Date.now() + k * 1000))}.xml`,
    );
    for (const n of taken) writeFileSync(path.join(smbd.shareDir, n), 'older archive');
    const run2 = await runImport(t);
    expect(run2).toMatchObject({ result: 'ok', clients: 1, checked: 3, check_failed: 0 });
    expect(run2.rotated_as).toMatch(/^clients_\d{8}_\d{6}_1\.xml$/);
    expect(rotated(smbd.shareDir)).toEqual([...taken, run2.rotated_as].sort());
    for (const n of taken) expect(readFileSync(path.join(smbd.shareDir, n), 'utf8')).toBe('older archive');
    expect(readFileSync(path.join(smbd.shareDir, run2.rotated_as!)).equals(remote)).toBe(true);
    expect(sharedIds(smbd.shareDir)).toEqual(['5BASE11']);
    expect((await importState(t)).counts).toEqual({ imported: 3, pending_import: 1 });
    expect((await importState(t, '?status=imported')).total).toBe(3);

    // a run with nothing new still checks and archives the batch on the share
    patriotImports(smbd.shareDir);
    const run3 = await runImport(t);
    expect(run3).toMatchObject({ result: 'empty', clients: 0, checked: 1, check_failed: 0 });
    expect(existsSync(path.join(smbd.shareDir, 'clients.xml'))).toBe(false);
    expect((await importState(t)).counts).toEqual({ imported: 4 });

    const runs = (await t.app.inject({ url: '/admin/patriot/import-runs?limit=2', headers: ADMIN })).json<{
      runs: Array<Record<string, unknown>>;
    }>();
    expect(runs.runs.map((r) => [r.result, r.clients, r.trigger])).toEqual([
      ['empty', 0, 'admin'],
      ['ok', 1, 'admin'],
    ]);
    const log = readFileSync(path.join(t.config.dataDir, 'xml_combine.log'), 'utf8');
    expect(log).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - INFO - Run \S+ started \(admin\)$/m);
    expect(log).toMatch(/Renamed remote clients\.xml to clients_\d{8}_\d{6}_1\.xml/);
    expect((await t.app.inject('/metrics')).body).toMatch(/fieldhub_patriot_import_runs_total\{result="ok"\} 2/);
    expect((await t.app.inject({ url: '/admin/patriot/import-runs' })).statusCode).toBe(401);
    await expectNoSecretInLogs(t);
  });

  it('results check: a missing id is logged and marked import_failed, regenerated, carried by the next batch, and given up after maxImportAttempts', async () => {
    const regenerated: string[] = [];
    let xmlDir = '';
    t = closesItself(
      await importApp(
        { patriot: { smb: smbd.smbConfig(), import: { maxImportAttempts: 2 } } },
        {
          hooks: {
            regenerate: (key, id) => {
              regenerated.push(`${key}/${id}`);
              writeClient(xmlDir, key, id, 'BASE11', { name: 'regenerated' });
              return true;
            },
          },
        },
      ),
    );
    xmlDir = t.config.patriot.xmlDir;
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11', { ageS: 5 });
    writeClient(xmlDir, 'Alarm24', 2, 'BASE11');
    expect((await runImport(t)).clients).toBe(2);
    patriotImports(smbd.shareDir, ['2BASE11']);

    const run2 = await runImport(t);
    expect(run2).toMatchObject({ result: 'empty', checked: 2, check_failed: 1, failed_ids: ['2BASE11'] });
    expect(regenerated).toEqual(['Alarm24/2']);
    const errors = readFileSync(path.join(t.config.dataDir, 'import_errors.log'), 'utf8');
    expect(errors).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - ERROR - 2BASE11: import not confirmed/m);
    expect(errors).not.toMatch(/1BASE11/);
    let state = await importState(t);
    expect(state.items).toEqual([
      expect.objectContaining({ id: '1BASE11', status: 'imported', attempts: 0 }),
      expect.objectContaining({ id: '2BASE11', status: 'import_failed', attempts: 1 }),
    ]);
    expect(JSON.parse(readFileSync(path.join(t.config.dataDir, 'client_state.json'), 'utf8'))['2BASE11'].status).toBe(
      'import_failed',
    );

    // the regenerated client rides in the next batch
    const run3 = await runImport(t);
    expect(run3).toMatchObject({ result: 'ok', clients: 1 });
    expect(sharedIds(smbd.shareDir)).toEqual(['2BASE11']);
    expect(readFileSync(path.join(smbd.shareDir, 'clients.xml'), 'utf8')).toContain('regenerated');
    expect((await importState(t, '?id=2BASE11')).items[0]).toMatchObject({ status: 'pending_import', attempts: 1 });

    // fails again: attempts reach the limit, it stays import_failed and is reported, not regenerated
    patriotImports(smbd.shareDir, ['2BASE11']);
    const run4 = await runImport(t);
    expect(run4).toMatchObject({ check_failed: 1, gave_up_ids: ['2BASE11'] });
    expect(regenerated).toEqual(['Alarm24/2']);
    state = await importState(t, '?status=import_failed');
    expect(state.items).toEqual([expect.objectContaining({ id: '2BASE11', attempts: 2 })]);
    expect(readFileSync(path.join(t.config.dataDir, 'import_errors.log'), 'utf8')).toMatch(
      /did not import 1 client\(s\) after 2 attempts: 2BASE11/,
    );
    expect(
      notifications(t.app)
        .map((n) => n.text)
        .join('\n'),
    ).toMatch(/after 2 attempts: 2BASE11/);
    expect(xmlFiles(xmlDir)).toEqual([]);
  });

  async function failThenRecover(
    label: string,
    breakIt: () => Promise<void> | void,
    fixIt: () => Promise<void> | void,
    expectError: RegExp,
  ) {
    t = closesItself(await importApp({ patriot: { smb: smbd.smbConfig() } }));
    const xmlDir = t.config.patriot.xmlDir;
    // a previous batch is on the share, waiting for its results check
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11');
    expect((await runImport(t)).result).toBe('ok');
    patriotImports(smbd.shareDir);
    const before = readFileSync(path.join(smbd.shareDir, 'clients.xml'));
    writeClient(xmlDir, 'Alarm24', 2, 'BASE11', { ageS: 5 });
    writeClient(xmlDir, 'Alarm24', 3, 'BASE11');
    const files = xmlFiles(xmlDir);
    const stateBefore = await importState(t);

    await breakIt();
    const failed = await runImport(t);
    expect(failed.result, label).toBe('failed');
    expect(failed.error, label).toMatch(expectError);
    expect(xmlFiles(xmlDir), label).toEqual(files); // nothing deleted, no claimed copies left
    expect(await importState(t), label).toEqual(stateBefore); // state kept (the check was not applied)
    expect(readFileSync(path.join(smbd.shareDir, 'clients.xml')).equals(before), label).toBe(true);
    expect(notifications(t.app)[0]).toMatchObject({
      level: 'alert',
      text: expect.stringMatching(/import run \S+ failed: .*nothing was deleted/i),
    });
    expect((await t.app.inject('/metrics')).body).toMatch(/fieldhub_patriot_import_runs_total\{result="failed"\} 1/);
    expect(readFileSync(path.join(t.config.dataDir, 'xml_combine.log'), 'utf8')).toMatch(/ERROR - Run \S+ failed: /);

    await fixIt();
    const ok = await runImport(t);
    expect(ok, label).toMatchObject({ result: 'ok', clients: 2, checked: 1, check_failed: 0 });
    expect(sharedIds(smbd.shareDir)).toEqual(['2BASE11', '3BASE11']);
    expect(rotated(smbd.shareDir)).toHaveLength(1);
    expect(xmlFiles(xmlDir)).toEqual([]);
    expect((await importState(t)).counts).toEqual({ imported: 1, pending_import: 2 });
    await expectNoSecretInLogs(t);
  }

  it('wrong password: the run fails, nothing is deleted, the next run succeeds once the password is fixed', async () => {
    await failThenRecover(
      'wrong password',
      () => void (t!.config.patriot.smb.password = 'Wr0ng-pässword!'),
      () => void (t!.config.patriot.smb.password = smbd.password),
      /NT_STATUS_LOGON_FAILURE/,
    );
  });

  it('smbd stopped: the run fails, nothing is deleted, the next run succeeds once smbd is back', async () => {
    await failThenRecover(
      'smbd stopped',
      () => smbd.stop(),
      () => smbd.start(),
      /NT_STATUS_CONNECTION_REFUSED|connection refused/i,
    );
  });

  it('read-only share: the run fails, nothing is deleted, the next run succeeds once the share is writable', async () => {
    await failThenRecover(
      'read-only',
      () => smbd.setReadOnly(true),
      () => smbd.setReadOnly(false),
      /NT_STATUS_ACCESS_DENIED|write-protected/,
    );
  });

  /** An smbclient wrapper: records its argv and the auth file mode, and runs `onPut` (shell) before an upload. */
  function wrapper(dir: string, onPut: string): string {
    const file = path.join(dir, 'smbclient-wrapper.sh');
    writeFileSync(
      file,
      `#!/bin/sh
echo "$@" >> ${dir}/argv.txt
prev=""; for a in "$@"; do if [ "$prev" = "-A" ]; then stat -c %a "$a" >> ${dir}/authmode.txt; fi; prev="$a"; done
case "$*" in *"-c put "*) ${onPut} ;; esac
exec smbclient "$@"
`,
    );
    chmodSync(file, 0o755);
    return file;
  }

  it('an update written during the run is not lost (successful and failed upload)', async () => {
    const dir = tempDir();
    t = closesItself(await importApp({ patriot: { smb: smbd.smbConfig() } }));
    const xmlDir = t.config.patriot.xmlDir;
    const newer = path.join(dir, 'newer.xml');
    writeFileSync(newer, readFileSync(writeClient(dir, 'x', 1, 'BASE11', { name: 'changed during the run' })));
    // the API's atomic write (temp name, rename) of client 1 while the upload is running
    const apiWrite =
      xmlRowWriteCommand(
        path.join(xmlDir, 'Alarm24', '1.xml'),
        readFileSync(newer, 'utf8'),
        path.join(dir, 'api.sql'),
      ) ?? `cp ${newer} ${xmlDir}/Alarm24/.1.xml.tmp && mv ${xmlDir}/Alarm24/.1.xml.tmp ${xmlDir}/Alarm24/1.xml`;
    t.config.patriot.smb.smbclientPath = wrapper(dir, apiWrite);
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11', { name: 'first version' });
    writeClient(xmlDir, 'Alarm24', 2, 'BASE11');
    const run = await runImport(t);
    expect(run).toMatchObject({ result: 'ok', clients: 2 });
    expect(readFileSync(path.join(smbd.shareDir, 'clients.xml'), 'utf8')).toContain('first version');
    expect(xmlFiles(xmlDir)).toEqual(['Alarm24/1.xml']); // the newer version stays, client 2 is done
    expect(readXml(path.join(xmlDir, 'Alarm24', '1.xml'))).toContain('changed during the run');

    // password never on the command line; the authentication file is 0600 and gone afterwards
    const argv = readFileSync(path.join(dir, 'argv.txt'), 'utf8');
    expect(argv).not.toContain(smbd.password);
    expect(argv).toMatch(/-A \S+\/patriot-import\/auth\/smb-\d+-[0-9a-f]+\.auth/);
    expect(new Set(readFileSync(path.join(dir, 'authmode.txt'), 'utf8').trim().split('\n'))).toEqual(new Set(['600']));

    // the next run carries the newer version
    t.config.patriot.smb.smbclientPath = 'smbclient';
    patriotImports(smbd.shareDir);
    expect(await runImport(t)).toMatchObject({ result: 'ok', clients: 1 });
    expect(readFileSync(path.join(smbd.shareDir, 'clients.xml'), 'utf8')).toContain('changed during the run');
    expect(xmlFiles(xmlDir)).toEqual([]);

    // failed upload with a concurrent write: the newer file wins over the restored claim, the rest is restored
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11', { name: 'first version' });
    writeClient(xmlDir, 'Alarm24', 3, 'BASE11');
    t.config.patriot.smb.smbclientPath = wrapper(dir, `${apiWrite}; exit 1`);
    expect(await runImport(t)).toMatchObject({ result: 'failed' });
    expect(xmlFiles(xmlDir)).toEqual(['Alarm24/1.xml', 'Alarm24/3.xml']);
    expect(readXml(path.join(xmlDir, 'Alarm24', '1.xml'))).toContain('changed during the run');
  });

  it('a hanging smbclient is killed after timeoutSeconds and the run fails without losing anything', async () => {
    const dir = tempDir();
    t = closesItself(await importApp({ patriot: { smb: smbd.smbConfig({ timeoutSeconds: 1 }) } }));
    // the hanging upload is the wrapper itself (exec): its pid tells whether it was killed
    t.config.patriot.smb.smbclientPath = wrapper(dir, `echo $$ > ${dir}/hang.pid; exec sleep 30`);
    writeClient(t.config.patriot.xmlDir, 'Alarm24', 1, 'BASE11');
    const run = await runImport(t);
    // under load the kill may come before the wrapper reached the hang: then there is no pid to check
    const pidFile = path.join(dir, 'hang.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(() => process.kill(pid, 0)).toThrow(/ESRCH/); // killed, not waited for (the run ended before the sleep)
    }
    expect(run).toMatchObject({ result: 'failed', error: expect.stringMatching(/timed out after 1 s/) });
    expect(xmlFiles(t.config.patriot.xmlDir)).toEqual(['Alarm24/1.xml']);
  });

  it('`fieldhub patriot combine --once` uploads with the password read from patriot.smb.passwordFile', async () => {
    const dataDir = tempDir();
    const extra = await cliConfig(dataDir, {});
    writeClient(path.join(dataDir, 'out', 'clients'), 'Alarm24', 7, 'BASE11');
    const pwFile = path.join(dataDir, 'smb-password');
    writeFileSync(pwFile, `${smbd.password}\n`, { mode: 0o600 });
    const { password: _pw, ...smb } = smbd.smbConfig();
    const cfg = path.join(dataDir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ ...extra, dataDir, patriot: { smb: { ...smb, passwordFile: pwFile } } }));
    const r = combineCli(cfg);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'ok', clients: 1, trigger: 'cli' });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(smbd.password);
    expect(sharedIds(smbd.shareDir)).toEqual(['7BASE11']);
  });

  it('remoteDir: the files go to that folder of the share; a missing folder fails the run clearly', async () => {
    mkdirSync(path.join(smbd.shareDir, 'import', 'patriot'), { recursive: true });
    chownSync(path.join(smbd.shareDir, 'import'), statSync(smbd.shareDir).uid, statSync(smbd.shareDir).gid);
    chownSync(path.join(smbd.shareDir, 'import', 'patriot'), statSync(smbd.shareDir).uid, statSync(smbd.shareDir).gid);
    t = closesItself(await importApp({ patriot: { smb: smbd.smbConfig({ remoteDir: 'import/patriot' }) } }));
    const xmlDir = t.config.patriot.xmlDir;
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11');
    expect(await runImport(t)).toMatchObject({
      result: 'ok',
      clients: 1,
      transport: expect.stringContaining('/patriot/import/patriot'),
    });
    expect(sharedIds(path.join(smbd.shareDir, 'import', 'patriot'))).toEqual(['1BASE11']);
    expect(existsSync(path.join(smbd.shareDir, 'clients.xml'))).toBe(false);

    t.config.patriot.smb.remoteDir = 'not/there';
    writeClient(xmlDir, 'Alarm24', 2, 'BASE11');
    expect(await runImport(t)).toMatchObject({
      result: 'failed',
      error: expect.stringMatching(/remote folder "not\/there" not found .*NT_STATUS_OBJECT_PATH_NOT_FOUND/),
    });
    expect(xmlFiles(xmlDir)).toEqual(['Alarm24/2.xml']);
  });

  it('a malformed file is rejected (moved, logged, notified) without blocking the batch', async () => {
    t = closesItself(await importApp({ patriot: { smb: smbd.smbConfig() } }));
    const xmlDir = t.config.patriot.xmlDir;
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11', { ageS: 3 });
    writeClient(xmlDir, 'Alarm24', 2, 'BASE11', {
      ageS: 2,
      text: '<Clients><Row><__id>2BASE11</__id><Name>broken</Row></Clients>',
    });
    writeClient(xmlDir, 'Alarm24', 3, 'BASE11', { ageS: 1 });
    const run = await runImport(t);
    expect(run).toMatchObject({ result: 'ok', clients: 2, rejected: 1, rejected_files: ['Alarm24/2.xml'] });
    expect(sharedIds(smbd.shareDir)).toEqual(['1BASE11', '3BASE11']);
    expect(xmlFiles(xmlDir)).toEqual([]);
    const rejected = xmlFiles(path.join(t.config.dataDir, 'rejected'));
    expect(rejected).toEqual([`Alarm24/2.${run.run_id}.xml`]);
    expect(readFileSync(path.join(t.config.dataDir, 'rejected', rejected[0]!), 'utf8')).toContain('broken');
    expect(readFileSync(path.join(t.config.dataDir, 'import_errors.log'), 'utf8')).toMatch(
      /ERROR - Rejected Alarm24\/2\.xml: not well-formed XML/,
    );
    expect(notifications(t.app)[0]).toMatchObject({
      level: 'alert',
      text: expect.stringContaining('Rejected Alarm24/2.xml'),
    });
    expect((await importState(t)).counts).toEqual({ pending_import: 2 });
  });
});
