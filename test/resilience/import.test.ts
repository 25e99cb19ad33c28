/**
 * The Patriot import run against a real smbd, with the real server as a child process:
 * - crash: kill -9 during the upload (an smbclient wrapper holds the put) and at several points of
 *   a run over 1,500 files; restart; no per-client XML is lost (claims are restored at start-up),
 *   the interrupted run is recorded as failed, and the next run uploads every client exactly once.
 * - faults: smbd down, wrong password, read-only share, full share (a 1 MB tmpfs): each run fails
 *   with a log line, the runs metric and an alert notification, keeps every file, and the other
 *   modules keep answering.
 * On PostgreSQL (vitest.resilience.pg.config.ts) the per-client XML is the rows of
 * patriot_client_xml (a claimed row is the claimed copy) and the tables are the data dir's database.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idsOfCombined } from '../../src/modules/patriot/import/xml.js';
import { writeClient } from '../modules/patriot/helpers/clients.js';
import { patriotImports } from '../modules/patriot/helpers/importer.js';
import { Smbd, smbdUnavailable } from '../modules/patriot/helpers/smbd.js';
import {
  ADMIN_AUTH,
  http,
  jsonReq,
  metric,
  report,
  SECRETS,
  sleep,
  startServer,
  until,
  type Server,
  suiteDataDirs,
} from './helpers/server.js';
import { onPostgres, openStore } from './helpers/db.js';

const unavailable = smbdUnavailable();
let smbd: Smbd;

beforeAll(async () => {
  if (unavailable) return;
  smbd = new Smbd({ password: SECRETS.smbPassword });
  await smbd.start();
});
afterAll(async () => {
  await smbd?.destroy();
});
const { dataDir, scratchDir } = suiteDataDirs(['xml_combine.log', 'import_errors.log', 'api_requests.log']);
function clearShare(): void {
  for (const n of readdirSync(smbd.shareDir))
    if (n !== 'full') rmSync(path.join(smbd.shareDir, n), { recursive: true, force: true });
}

const PAT_A = { authorization: `Bearer ${SECRETS.patriotA}` };
const smbConfig = (extra: Record<string, unknown> = {}) => ({
  patriot: { import: { maxClientsPerRun: 5000 }, smb: smbd.smbConfig(extra) },
});

/** Per-client files: `api` clients through the API (state rows), `bulk` files written as the API would. */
async function seed(s: Server, dir: string, api: number, bulk: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= api; i++) {
    const r = await jsonReq(`${s.url}/clients`, 'PUT', { client_id: i, info: { Name: `api client ${i}` } }, PAT_A);
    expect(r.status).toBe(201);
    ids.push(`${i}PA01`);
  }
  const xmlDir = path.join(dir, 'out', 'clients');
  for (let i = 0; i < bulk; i++) {
    writeClient(xmlDir, 'InstB', 1000 + i, 'PB02', { ageS: 3600 - i });
    ids.push(`${1000 + i}PB02`);
  }
  return ids;
}

/**
 * Files under out/clients: visible per-client files and claimed copies. On PostgreSQL the rows of
 * patriot_client_xml by the file name each would have: unclaimed visible, claimed (claimed_by) copies.
 */
async function xmlState(dir: string): Promise<{ visible: string[]; claimed: string[] }> {
  if (onPostgres) {
    const rows = await xmlRows(dir);
    return {
      visible: rows.filter((r) => r.claimed_by === null).map((r) => r.name),
      claimed: rows.filter((r) => r.claimed_by !== null).map((r) => `${r.name}.claimed-${r.claimed_by}`),
    };
  }
  const visible: string[] = [];
  const claimed: string[] = [];
  const root = path.join(dir, 'out', 'clients');
  for (const key of readdirSync(root)) {
    for (const n of readdirSync(path.join(root, key))) {
      if (/^\d+\.xml$/.test(n)) visible.push(`${key}/${n}`);
      else if (n.includes('.claimed-')) claimed.push(`${key}/${n}`);
    }
  }
  return { visible, claimed };
}

/** PostgreSQL: the per-client XML rows as `<key>/<id>.xml`, their text and claim. */
async function xmlRows(dir: string): Promise<Array<{ name: string; xml: string; claimed_by: string | null }>> {
  const db = await openStore(dir);
  try {
    return await db.all(
      "SELECT key_name || '/' || client_id || '.xml' AS name, xml, claimed_by FROM patriot_client_xml ORDER BY 1",
    );
  } finally {
    await db.close();
  }
}

/** The text of a visible per-client XML `<key>/<id>.xml` (its file, or its row). */
async function xmlText(dir: string, f: string): Promise<string> {
  if (!onPostgres) return readFileSync(path.join(dir, 'out', 'clients', f), 'utf8');
  const row = (await xmlRows(dir)).find((r) => r.name === f);
  if (!row) throw new Error(`no XML row ${f}`);
  return row.xml;
}

const idOfFile = (f: string) => {
  const [key, n] = f.split('/');
  return `${n!.replace('.xml', '')}${key === 'InstA' ? 'PA01' : 'PB02'}`;
};

async function dbState(dir: string) {
  const db = await openStore(dir);
  try {
    const runs = await db.all<{ run_id: string; result: string; error: string | null }>(
      'SELECT run_id, result, error FROM patriot_import_runs ORDER BY id',
    );
    const items = await db.all<{ id: string; n: number }>(
      "SELECT i.xml_id AS id, count(*) AS n FROM patriot_import_items i JOIN patriot_import_runs r ON r.run_id = i.run_id WHERE r.result = 'ok' GROUP BY i.xml_id",
    );
    const states = await db.all<{ key_name: string; client_id: number; status: string }>(
      'SELECT key_name, client_id, status FROM patriot_client_state',
    );
    return { runs, items, states };
  } finally {
    await db.close();
  }
}

/** No client lost: each is either a per-client file again, or in an uploaded batch (pending_import). */
async function assertNothingLost(dir: string, ids: string[]): Promise<{ files: number; pending: number }> {
  const { visible, claimed } = await xmlState(dir);
  expect(claimed, 'claimed copies left after start-up').toEqual([]);
  const st = await dbState(dir);
  const pending = new Set(
    st.states
      .filter((x) => x.status === 'pending_import')
      .map((x) => `${x.client_id}${x.key_name === 'InstA' ? 'PA01' : 'PB02'}`),
  );
  const have = new Set([...visible.map(idOfFile), ...pending]);
  expect(
    ids.filter((i) => !have.has(i)),
    'clients neither on disk nor uploaded',
  ).toEqual([]);
  for (const x of visible) {
    const text = await xmlText(dir, x);
    expect(text, `${x} is whole`).toMatch(/<\/Clients>\s*$/);
  }
  expect(
    st.runs.filter((r) => r.result === 'running'),
    'runs left running',
  ).toEqual([]);
  // a client of a batch that was uploaded and recorded is not queued again (no duplicate upload state)
  expect(
    visible.map(idOfFile).filter((i) => pending.has(i)),
    'clients both uploaded and queued again',
  ).toEqual([]);
  return { files: visible.length, pending: pending.size };
}

async function runImport(s: Server, timeoutMs = 60_000) {
  const r = await http(`${s.url}/admin/patriot/import-runs`, { method: 'POST', headers: ADMIN_AUTH, timeoutMs });
  expect(r.status).toBe(200);
  return r.json<{ run: { result: string; clients: number; error: string | null } }>().run;
}

/** The final clean run: every client uploaded, in state pending_import (or imported), no file left, no state twice. */
async function finishAndCheck(dir: string, ids: string[]): Promise<void> {
  // Patriot processes whatever batch is on the share (a run that completed before a kill left one)
  if (existsSync(path.join(smbd.shareDir, 'clients.xml'))) patriotImports(smbd.shareDir);
  const s = await startServer({ dataDir: dir, config: smbConfig(), name: 'import-final' });
  const run = await runImport(s);
  await s.stop();
  expect(run.result === 'ok' || run.result === 'empty').toBe(true);
  // every clients*.xml on the share (the current one and the rotated batches): each whole, no client twice in one
  for (const f of readdirSync(smbd.shareDir).filter((n) => /^clients.*\.xml$/.test(n))) {
    const text = readFileSync(path.join(smbd.shareDir, f), 'utf8');
    expect(text, `${f} is whole`).toMatch(/<\/Clients>\s*$/);
    const shared = idsOfCombined(text);
    expect(new Set(shared).size, `no client twice in ${f}`).toBe(shared.length);
  }
  expect(await xmlState(dir)).toEqual({ visible: [], claimed: [] });
  const st = await dbState(dir);
  expect(st.states.filter((x) => x.status !== 'pending_import' && x.status !== 'imported')).toEqual([]);
  expect(st.states.length).toBe(ids.length);
  const dup = st.items.filter((i) => i.n > 1);
  // a client is recorded in at most one successful batch (a kill between the remote rename and the
  // commit can make the share see a batch twice, but its state is recorded once)
  expect(dup).toEqual([]);
  expect(new Set(st.items.map((i) => i.id))).toEqual(new Set(ids));
}

describe.skipIf(unavailable)('crash during a Patriot import run (real smbd)', () => {
  it('kill -9 while the upload is in progress: claims restored at start-up, the run recorded failed, the next run uploads all once', async () => {
    clearShare();
    const dir = dataDir();
    const work = scratchDir();
    // smbclient wrapper: on the upload, write its pid and wait (the test kills the server meanwhile)
    const wrapper = path.join(work, 'smbclient.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\ncase "$*" in *"-c put "*) echo $$ > ${work}/put.pid; sleep 30; exit 1 ;; esac\nexec smbclient "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    let s = await startServer({
      dataDir: dir,
      config: smbConfig({ smbclientPath: wrapper, timeoutSeconds: 60 }),
      name: 'import-crash-upload',
    });
    const ids = await seed(s, dir, 20, 300);
    void http(`${s.url}/admin/patriot/import-runs`, { method: 'POST', headers: ADMIN_AUTH, timeoutMs: 60_000 }).catch(
      () => undefined,
    );
    await until(() => existsSync(path.join(work, 'put.pid')), 30_000);
    const atKill = await xmlState(dir);
    await s.kill9();
    try {
      process.kill(Number(readFileSync(path.join(work, 'put.pid'), 'utf8')), 'SIGKILL'); // the orphaned wrapper
    } catch {
      // already gone
    }
    expect(atKill.claimed.length).toBe(ids.length); // every file was claimed by the killed run
    expect(atKill.visible.length).toBe(0);

    s = await startServer({ dataDir: dir, config: smbConfig(), name: 'import-crash-upload-restart' });
    await s.stop();
    const after = await assertNothingLost(dir, ids);
    expect(after).toEqual({ files: ids.length, pending: 0 });
    const st = await dbState(dir);
    expect(st.runs.map((r) => [r.result, r.error])).toEqual([
      ['failed', 'interrupted (process stopped during the run)'],
    ]);
    expect(st.states.filter((x) => x.status === 'pending_import')).toEqual([]);
    await finishAndCheck(dir, ids);
    report('crash.patriotImport.upload', {
      clients: ids.length,
      claimedAtKill: atKill.claimed.length,
      restoredAtStartup: after.files,
    });
  });

  it('kill -9 at three points of a run over 820 files (the last right after its batch is recorded): after each restart no client is lost; then one clean run', async () => {
    clearShare();
    const dir = dataDir();
    let s = await startServer({ dataDir: dir, config: smbConfig(), name: 'import-crash-points' });
    const ids = await seed(s, dir, 20, 800);
    const kills: Array<Record<string, unknown>> = [];
    // fixed delays (claiming, combining, uploading), then "as soon as the batch is recorded" (the
    // claims are being dropped and the run is not yet marked finished)
    for (const delay of [100, 400, 'recorded'] as const) {
      const t0 = Date.now();
      let settled = false;
      const run = http(`${s.url}/admin/patriot/import-runs`, {
        method: 'POST',
        headers: ADMIN_AUTH,
        timeoutMs: 60_000,
      })
        .then(
          (r) => r.json<{ run: { result: string } }>().run.result,
          () => 'killed',
        )
        .finally(() => (settled = true));
      if (delay === 'recorded') {
        const db = await openStore(dir, { readonly: true });
        const items = () =>
          db.column<number>(
            "SELECT count(*) FROM patriot_import_items i JOIN patriot_import_runs r ON r.run_id = i.run_id WHERE r.result = 'running'",
          );
        try {
          // the window can be shorter than one poll (PostgreSQL under load): if the run ends before it
          // is seen, the kill comes right after the run instead, and the same checks follow
          await until(async () => settled || (await items())[0]! > 0, 30_000, 2);
        } finally {
          await db.close();
        }
      } else await sleep(delay);
      if (settled) {
        // the run ended before this kill point (a fast machine): not a crash point; nothing is lost,
        // and the points after it have no work left, so the loop ends here
        await s.stop();
        await assertNothingLost(dir, ids);
        kills.push({ delayMs: delay, runResult: await run, killed: false });
        s = await startServer({ dataDir: dir, config: smbConfig(), name: 'import-crash-points-next' });
        break;
      }
      const atKill = await xmlState(dir);
      await s.kill9();
      const result = await run;
      s = await startServer({ dataDir: dir, config: smbConfig(), name: 'import-crash-points-restart' });
      await s.stop();
      const after = await assertNothingLost(dir, ids);
      kills.push({
        delayMs: delay,
        killed: true,
        runResult: result,
        claimedAtKill: atKill.claimed.length,
        filesAfterRestart: after.files,
        pendingAfterRestart: after.pending,
        ms: Date.now() - t0,
      });
      s = await startServer({ dataDir: dir, config: smbConfig(), name: 'import-crash-points-next' });
    }
    await s.stop();
    expect(kills[0]!.killed, 'the first point (100 ms into a run over 820 files) is a crash point').toBe(true);
    report('crash.patriotImport.points', { clients: ids.length, kills });
    await finishAndCheck(dir, ids);
  });
});

describe.skipIf(unavailable)('SMB faults during an import run (real smbd)', () => {
  /** One failing run: log line, metric, alert; files kept; the other modules answer meanwhile; then recovery. */
  async function failThenRecover(
    name: string,
    cfg: Record<string, unknown>,
    breakIt: () => Promise<void> | void,
    fixIt: () => Promise<void> | void,
    error: RegExp,
    fixedCfg?: Record<string, unknown>,
  ) {
    clearShare();
    const dir = dataDir();
    let s = await startServer({ dataDir: dir, config: cfg, name: `import-fault-${name}` });
    const ids = await seed(s, dir, 3, 20);
    let failedWith: string | undefined;
    const conduit = await jsonReq(
      `${s.url}/admin/conduit/users`,
      'POST',
      { name: 'imp', token: SECRETS.conduit, sites: ['S1'], throttleSeconds: 0 },
      ADMIN_AUTH,
    );
    expect(conduit.status).toBe(201);
    await breakIt();
    try {
      const running = runImport(s);
      // the others answer while the run is failing
      const c = await jsonReq(
        `${s.url}/conduitv6`,
        'POST',
        [{ dev_netid: 'C1', dev_chid: 1, val_date: 1_700_000_000, val_raw: 1 }],
        { 'x-api-key': SECRETS.conduit },
      );
      expect(c.status).toBe(200);
      expect((await http(`${s.url}/push?deviceId=7`)).status).toBe(200);
      expect(
        (await jsonReq(`${s.url}/clients`, 'PUT', { client_id: 99, info: { Name: 'during' } }, PAT_A)).status,
      ).toBe(201);
      const run = await running;
      expect(run.result).toBe('failed');
      expect(run.error).toMatch(error);
      expect(await metric(s.url, 'fieldhub_patriot_import_runs_total', { result: 'failed' })).toBe(1);
      const line = s.json().find((l) => l.msg === 'patriot import run failed; per-client files kept for the next run');
      expect(line, `the error log line of the failed run (${name})`).toMatchObject({ level: 50, error: run.error });
      failedWith = run.error ?? '';
      const n = await http(`${s.url}/admin/patriot/import-runs?limit=1`, { headers: ADMIN_AUTH });
      expect(n.status).toBe(200);
      const db = await openStore(dir, { readonly: true });
      const alerts = await db.column<string>(
        "SELECT text FROM notifications WHERE module = 'patriot' AND level = 'alert'",
      );
      await db.close();
      expect(
        alerts.some((a) => /import run failed|failed/i.test(a)),
        `alert notification (${name})`,
      ).toBe(true);
      expect((await xmlState(dir)).visible.length).toBe(ids.length + 1);
    } finally {
      await fixIt();
    }
    if (fixedCfg) {
      await s.stop();
      s = await startServer({ dataDir: dir, config: fixedCfg, name: `import-fault-${name}-fixed` });
    }
    const ok = await runImport(s);
    await s.stop();
    expect(ok).toMatchObject({ result: 'ok', clients: ids.length + 1 });
    expect((await xmlState(dir)).visible).toEqual([]);
    report(`faults.smb.${name}`, { clients: ids.length + 1, failedWith, thenRecovered: ok.result });
  }

  it('smbd down', async () => {
    await failThenRecover(
      'down',
      smbConfig(),
      () => smbd.stop(),
      () => smbd.start(),
      /NT_STATUS_CONNECTION_REFUSED|connection refused/i,
    );
  });

  it('wrong password', async () => {
    await failThenRecover(
      'wrong-password',
      smbConfig({ password: 'Wrong-RESIL-password-1' }),
      () => undefined,
      () => undefined,
      /NT_STATUS_LOGON_FAILURE/,
      smbConfig(),
    );
  });

  it('read-only share', async () => {
    await failThenRecover(
      'read-only',
      smbConfig(),
      () => smbd.setReadOnly(true),
      () => smbd.setReadOnly(false),
      /NT_STATUS_ACCESS_DENIED|write-protected/i,
    );
  });

  it('full share (a 1 MB tmpfs under the share)', async () => {
    const full = path.join(smbd.shareDir, 'full');
    mkdirSync(full, { recursive: true });
    try {
      execFileSync('mount', [
        '-t',
        'tmpfs',
        '-o',
        `size=1m,uid=${statSync(smbd.shareDir).uid},gid=${statSync(smbd.shareDir).gid}`,
        'tmpfs',
        full,
      ]);
    } catch {
      console.warn('full share: cannot mount a tmpfs here (needs CAP_SYS_ADMIN); skipped');
      return;
    }
    try {
      const fill = () => {
        writeFileSync(path.join(full, 'filler'), Buffer.alloc(1024 * 1024 - 8 * 1024, 1));
      };
      const cfg = smbConfig({ remoteDir: 'full' });
      await failThenRecover(
        'full',
        cfg,
        () => {
          try {
            fill();
          } catch {
            // already full
          }
        },
        () => rmSync(path.join(full, 'filler'), { force: true }),
        /NT_STATUS_DISK_FULL|disk full|No space/i,
      );
    } finally {
      execFileSync('umount', [full]);
      rmSync(full, { recursive: true, force: true });
    }
  });
});
