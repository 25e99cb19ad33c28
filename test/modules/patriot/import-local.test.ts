/**
 * The import pipeline without smbd: the directory transport (a locally mounted share), SMB
 * disabled (local combine only), start-up recovery, the run lock, and `fieldhub patriot combine --once`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/app.js';

import { tempDir, testConfig, closesItself } from '../../helpers/app.js';
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
import pg from 'pg';
import { cliConfig, onPostgres, psql } from './helpers/xml-db.js';

describe('directory transport', () => {
  it('check, rotation, upload and cleanup work on a mounted folder like on SMB', async () => {
    const share = tempDir();
    const t = closesItself(
      await importApp({ patriot: { smb: { enabled: true, transport: 'directory', directory: share } } }),
    );
    const xmlDir = t.config.patriot.xmlDir;
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11', { ageS: 2 });
    writeClient(xmlDir, 'Alarm24', 2, 'BASE11');
    expect(await runImport(t)).toMatchObject({ result: 'ok', clients: 2, transport: `directory ${share}` });
    expect(sharedIds(share)).toEqual(['1BASE11', '2BASE11']);
    expect(readdirSync(share)).toEqual(['clients.xml']);
    expect(xmlFiles(xmlDir)).toEqual([]);

    patriotImports(share, ['2BASE11']);
    writeClient(xmlDir, 'Alarm24', 3, 'BASE11');
    // archives of this minute already exist (e.g. two runs within a second): the rotation never replaces them
    const taken = Array.from({ length: 60 }, (_, k) => k).map(
      (k) => `clients_${stampTime(new Date(Date.now() + k * 1000))}.xml`,
    );
    for (const n of taken) writeFileSync(path.join(share, n), 'older archive');
    const run2 = await runImport(t);
    expect(run2.rotated_as).toMatch(/^clients_\d{8}_\d{6}_1\.xml$/);
    for (const n of taken) expect(readFileSync(path.join(share, n), 'utf8')).toBe('older archive');
    expect(run2).toMatchObject({ result: 'ok', clients: 1, checked: 2, check_failed: 1, failed_ids: ['2BASE11'] });
    expect(rotated(share)).toEqual([...taken, run2.rotated_as].sort());
    expect(sharedIds(share)).toEqual(['3BASE11']);
    expect((await importState(t)).counts).toEqual({ imported: 1, import_failed: 1, pending_import: 1 });
    expect(readFileSync(path.join(t.config.dataDir, 'import_errors.log'), 'utf8')).toMatch(
      /2BASE11: import not confirmed/,
    );
  });

  it('a duplicate __id keeps the newest file; both files are done after the upload', async () => {
    const share = tempDir();
    const t = closesItself(
      await importApp({ patriot: { smb: { enabled: true, transport: 'directory', directory: share } } }),
    );
    const xmlDir = t.config.patriot.xmlDir;
    writeClient(xmlDir, 'Alarm24', 5, 'BASE11', { ageS: 30, name: 'older copy' });
    writeClient(xmlDir, 'Alarm24', 6, 'BASE11', { ageS: 20 });
    writeClient(xmlDir, 'Moved', 5, 'BASE11', { ageS: 10, name: 'newer copy' }); // same __id 5BASE11 in another folder
    const run = await runImport(t);
    expect(run).toMatchObject({ result: 'ok', clients: 2 });
    const xml = readFileSync(path.join(share, 'clients.xml'), 'utf8');
    expect(sharedIds(share).sort()).toEqual(['5BASE11', '6BASE11']);
    expect(xml).toContain('newer copy');
    expect(xml).not.toContain('older copy');
    expect(xmlFiles(xmlDir)).toEqual([]);
  });

  it('a per-client file over 16 MB is rejected unread; the others go', async () => {
    const share = tempDir();
    const t = closesItself(
      await importApp({ patriot: { smb: { enabled: true, transport: 'directory', directory: share } } }),
    );
    const xmlDir = t.config.patriot.xmlDir;
    writeClient(xmlDir, 'Alarm24', 1, 'BASE11');
    writeClient(xmlDir, 'Alarm24', 2, 'BASE11', {
      text: `<Clients><Row><__id>2BASE11</__id><N>${'x'.repeat(16 * 1024 * 1024)}</N></Row></Clients>`,
    });
    const run = await runImport(t);
    expect(run).toMatchObject({ result: 'ok', clients: 1, rejected: 1, rejected_files: ['Alarm24/2.xml'] });
    expect(readFileSync(path.join(t.config.dataDir, 'import_errors.log'), 'utf8')).toMatch(
      /Rejected Alarm24\/2\.xml: file too large \(\d+ bytes, limit 16777216\)/,
    );
    expect(sharedIds(share)).toEqual(['1BASE11']);
  });

  it('a missing share folder fails the run and keeps everything', async () => {
    const share = path.join(tempDir(), 'not-mounted');
    const t = closesItself(
      await importApp({ patriot: { smb: { enabled: true, transport: 'directory', directory: share } } }),
    );
    writeClient(t.config.patriot.xmlDir, 'Alarm24', 1, 'BASE11');
    expect(await runImport(t)).toMatchObject({
      result: 'failed',
      error: expect.stringMatching(/not-mounted is not available \(ENOENT\)/),
    });
    expect(xmlFiles(t.config.patriot.xmlDir)).toEqual(['Alarm24/1.xml']);
    mkdirSync(share);
    expect(await runImport(t)).toMatchObject({ result: 'ok', clients: 1 });
  });
});

describe('without upload, recovery, lock', () => {
  it('smb.enabled false: clients.xml is written locally, the per-client files and the state stay', async () => {
    const t = closesItself(await importApp({}));
    writeClient(t.config.patriot.xmlDir, 'Alarm24', 1, 'BASE11');
    expect(await runImport(t)).toMatchObject({ result: 'local', clients: 1 });
    expect(readFileSync(path.join(t.config.dataDir, 'ready_for_import', 'clients.xml'), 'utf8')).toContain(
      '<__id>1BASE11</__id>',
    );
    expect(xmlFiles(t.config.patriot.xmlDir)).toEqual(['Alarm24/1.xml']);
    expect((await importState(t)).total).toBe(0);
    expect(await runImport(t)).toMatchObject({ result: 'local', clients: 1 });
  });

  it('the scheduler runs the job on patriot.import.cron by itself', async () => {
    const share = tempDir();
    const t = closesItself(
      await importApp(
        {
          patriot: {
            import: { cron: '* * * * * *' },
            smb: { enabled: true, transport: 'directory', directory: share },
          },
        },
        { startScheduler: true },
      ),
    );
    await t.app.ready();
    expect(t.app.scheduler.list()).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'patriot.import', cron: '* * * * * *' })]),
    );
    writeClient(t.config.patriot.xmlDir, 'Alarm24', 1, 'BASE11');
    const deadline = Date.now() + 10_000;
    while (sharedIds(share).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(sharedIds(share)).toEqual(['1BASE11']);
    // the file is on the share a moment before the run records its result: wait for the record
    type Runs = { runs: Array<{ trigger: string; result: string }> };
    const scheduledOk = async () =>
      (await t.app.inject({ url: '/admin/patriot/import-runs', headers: ADMIN }))
        .json<Runs>()
        .runs.some((r) => r.trigger === 'schedule' && r.result === 'ok');
    while (!(await scheduledOk()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await scheduledOk()).toBe(true);
  });

  it('two on-demand runs at once: one runs, the other answers with its result (skipped), never overlapping', async () => {
    const t = closesItself(await importApp({}));
    writeClient(t.config.patriot.xmlDir, 'Alarm24', 1, 'BASE11');
    const [a, b] = await Promise.all(
      [0, 1].map(() => t.app.inject({ method: 'POST', url: '/admin/patriot/import-runs', headers: ADMIN })),
    );
    const bodies = [a!.json(), b!.json()] as Array<{ skipped: boolean; run: { run_id: string; result: string } }>;
    expect(bodies.map((x) => x.skipped).sort()).toEqual([false, true]);
    expect(bodies[0]!.run.run_id).toBe(bodies[1]!.run.run_id);
    const runs = (await t.app.inject({ url: '/admin/patriot/import-runs', headers: ADMIN })).json<{
      runs: Array<{ trigger: string }>;
    }>();
    expect(runs.runs).toEqual([expect.objectContaining({ trigger: 'admin', result: 'local' })]);
  });

  // SQLite's claimed files (PostgreSQL: the claims in the database, next test)
  it.skipIf(onPostgres)(
    'start-up restores files claimed by a run that was killed, and marks that run failed',
    async () => {
      const dataDir = tempDir();
      const config = testConfig({}, dataDir);
      const store = openStore(config);
      store.db
        .prepare(
          `INSERT INTO patriot_import_runs (run_id, trigger, started_at, batch_time, result, transport) VALUES ('r1', 'schedule', 'x', 'x', 'running', 'x')`,
        )
        .run();
      store.close();
      const dir = path.join(config.patriot.xmlDir, 'Alarm24');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, '.1.xml.claimed-r1'), 'claimed');
      writeFileSync(path.join(dir, '.2.xml.claimed-r1'), 'claimed old');
      writeFileSync(path.join(dir, '2.xml'), 'newer');
      const t = closesItself(await importApp({ dataDir }));
      await t.app.ready();
      expect(xmlFiles(config.patriot.xmlDir)).toEqual(['Alarm24/1.xml', 'Alarm24/2.xml']);
      expect(readFileSync(path.join(dir, '2.xml'), 'utf8')).toBe('newer');
      const runs = (await t.app.inject({ url: '/admin/patriot/import-runs', headers: ADMIN })).json<{
        runs: Array<{ result: string; error: string }>;
      }>();
      expect(runs.runs[0]).toMatchObject({ result: 'failed', error: expect.stringMatching(/interrupted/) });
    },
  );

  it.runIf(onPostgres)(
    'start-up gives back the XML rows claimed by a run that died, and marks that run failed',
    async () => {
      const dataDir = tempDir();
      const first = await importApp({ dataDir });
      await first.app.ready();
      await first.close();
      const xmlDir = path.join(dataDir, 'out', 'clients');
      writeClient(xmlDir, 'Alarm24', 1, 'BASE11', { name: 'claimed' });
      writeClient(xmlDir, 'Alarm24', 2, 'BASE11', { name: 'newer' });
      psql(
        dataDir,
        `INSERT INTO patriot_import_runs (run_id, trigger, started_at, batch_time, result, transport) VALUES ('r1', 'schedule', 'x', 'x', 'running', 'x');
       UPDATE patriot_client_xml SET claimed_by = 'r1' WHERE client_id = 1;`,
      );
      const t = closesItself(await importApp({ dataDir }));
      await t.app.ready();
      expect(psql(dataDir, 'SELECT client_id, claimed_by IS NULL FROM patriot_client_xml ORDER BY client_id;')).toBe(
        '1|t\n2|t\n',
      );
      const runs = (await t.app.inject({ url: '/admin/patriot/import-runs', headers: ADMIN })).json<{
        runs: Array<{ result: string; error: string }>;
      }>();
      expect(runs.runs[0]).toMatchObject({ result: 'failed', error: expect.stringMatching(/interrupted/) });
      expect(await runImport(t)).toMatchObject({ result: 'local', clients: 2 });
    },
  );

  it.runIf(onPostgres)(
    'a run held by another replica (the advisory lock) answers 409; free again, the run goes',
    async () => {
      const t = closesItself(await importApp({}));
      await t.app.ready();
      const other = new pg.Client({ connectionString: t.config.store.url });
      await other.connect();
      try {
        await other.query("SELECT pg_advisory_lock(hashtext('fieldhub.patriot.import'))");
        const r = await t.app.inject({ method: 'POST', url: '/admin/patriot/import-runs', headers: ADMIN });
        expect(r.statusCode).toBe(409);
        expect(r.json()).toMatchObject({ statusCode: 409, message: expect.stringMatching(/in progress/) });
        await other.query("SELECT pg_advisory_unlock(hashtext('fieldhub.patriot.import'))");
      } finally {
        await other.end();
      }
      expect((await runImport(t)).result).toBe('empty');
    },
  );

  // SQLite's run lock file (PostgreSQL: the advisory lock, previous test)
  it.skipIf(onPostgres)('a run held by another live process answers 409; a stale lock is taken over', async () => {
    const t = closesItself(await importApp({}));
    await t.app.ready();
    const lock = path.join(t.config.dataDir, 'patriot-import', 'run.lock');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = sleeper.pid!;
    try {
      writeFileSync(lock, String(pid));
      const r = await t.app.inject({ method: 'POST', url: '/admin/patriot/import-runs', headers: ADMIN });
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({ statusCode: 409, message: expect.stringMatching(/in progress \(pid \d+\)/) });
    } finally {
      const gone = new Promise((res) => sleeper.once('exit', res));
      sleeper.kill();
      await gone;
    }
    expect((await runImport(t)).result).toBe('empty');
    expect(existsSync(lock)).toBe(false);
  });
});

describe('fieldhub patriot combine --once', () => {
  it('runs one combine + upload from the command line and prints the result; without --once it prints the usage', async () => {
    const dataDir = tempDir();
    const share = tempDir();
    const config = await cliConfig(dataDir, {
      dataDir,
      patriot: { smb: { enabled: true, transport: 'directory', directory: share } },
    });
    writeClient(path.join(dataDir, 'out', 'clients'), 'Alarm24', 7, 'BASE11');
    const cfg = path.join(dataDir, 'config.json');
    writeFileSync(cfg, JSON.stringify(config));
    const r = combineCli(cfg);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'ok', clients: 1, trigger: 'cli' });
    expect(sharedIds(share)).toEqual(['7BASE11']);
    const usage = combineCli(cfg, { once: false });
    expect(usage.status).toBe(2);
    expect(usage.stdout).toMatch(/usage: fieldhub patriot combine --once/);
  });
});
