/**
 * One import run: claim per-client XML files (oldest first, at most maxClientsPerRun clients),
 * combine them into ready_for_import/clients.xml, check the previous batch against Patriot's
 * results file, rotate the remote clients.xml, upload the new one, and only then drop the claimed
 * files and mark the clients pending_import. Any failure restores every claim: nothing is lost,
 * the next run retries. See docs/patriot-import.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../../core/config.js';
import type { DB } from '../../../core/db.js';
import { safeJoin, writeFileDurable } from '../../../core/files.js';
import type { Metrics } from '../../../core/metrics.js';
import { checkResults } from './check.js';
import { claim, recoverClaims, release, restore, scanXmlFiles, supersededBy, type Claim } from './claims.js';
import { acquireLock, RunLockedError } from './lock.js';
import { batchTime, stampTime, TextLog } from './logs.js';
import { AUTH_DIR } from './smbclient.js';
import { ImportStore, type BatchItem, type RunRow } from './state.js';
import { makeTransport, TransportError, type RemoteSession } from './transport.js';
import { idsOfCombined, parseClientXml, XmlRejectError, combineRows } from './xml.js';

export const REMOTE_XML = 'clients.xml';
export const REMOTE_RESULTS = 'clients_Import_Results.txt';
export const READY_FILE = path.join('ready_for_import', 'clients.xml');
const WORK_DIR = 'patriot-import';
const FETCHED_XML = path.join(WORK_DIR, 'remote_clients.xml');
const FETCHED_RESULTS = path.join(WORK_DIR, 'remote_Import_Results.txt');

export interface ImportLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ImportDeps {
  config: Config;
  db: DB;
  notify: (level: 'info' | 'alert', text: string) => void;
  log: ImportLog;
  metrics?: Metrics;
  /** rewrites one client's XML from the store (the API's writer); false when the client no longer exists */
  regenerate?: (keyName: string, clientId: number) => Promise<boolean> | boolean;
  /** maps an `__id` (client id + key port) to its client, for ids no batch of ours recorded */
  resolveId?: (xmlId: string) => { key_name: string; client_id: number } | undefined;
}

export type Trigger = 'schedule' | 'admin' | 'cli';

export interface RunReport extends RunRow {
  recovered: number;
  rejected_files: string[];
  failed_ids: string[];
  gave_up_ids: string[];
}

interface Row {
  id: string;
  xml: string;
  claim: Claim;
}

function importMetrics(m: Metrics | undefined) {
  if (!m) return undefined;
  return {
    runs: m.counter('fieldhub_patriot_import_runs_total', 'Patriot import runs by result', ['result'] as const),
    clients: m.counter('fieldhub_patriot_import_clients_total', 'Clients uploaded to Patriot in a clients.xml'),
    rejected: m.counter('fieldhub_patriot_import_rejected_files_total', 'Per-client XML files rejected (not parseable)'),
    failed: m.counter('fieldhub_patriot_import_failed_clients_total', 'Clients Patriot did not confirm in its results file'),
    lastOk: m.gauge('fieldhub_patriot_import_last_success_timestamp_seconds', 'Time of the last successful import run'),
  };
}

export class ImportService {
  readonly store: ImportStore;
  private readonly combineLog: TextLog;
  private readonly errorLog: TextLog;
  private readonly m;
  private started = false;
  /** set by an on-demand caller just before it runs the scheduler job */
  nextTrigger: Trigger | undefined;

  constructor(private readonly deps: ImportDeps) {
    this.store = new ImportStore(deps.db);
    this.combineLog = new TextLog(path.join(deps.config.dataDir, 'xml_combine.log'));
    this.errorLog = new TextLog(path.join(deps.config.dataDir, 'import_errors.log'));
    this.m = importMetrics(deps.metrics);
  }

  private get cfg() {
    return this.deps.config;
  }

  private local(rel: string): string {
    return safeJoin(this.cfg.dataDir, rel);
  }

  /** Start-up recovery: runs left 'running', claimed files and authentication files of a process that died. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const lock = this.local(path.join(WORK_DIR, 'run.lock'));
    const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (owner === process.pid) await unlink(lock).catch(() => undefined); // a previous life with our pid (pid 1 in a container)
    let release: (() => Promise<void>) | undefined;
    try {
      release = await acquireLock(lock);
    } catch (e) {
      if (e instanceof RunLockedError) return; // another process is running; it owns its claims
      throw e;
    }
    try {
      const abandoned = this.store.abandonRuns();
      const recovered = await recoverClaims(this.cfg.patriot.xmlDir!);
      await rm(this.local(AUTH_DIR), { recursive: true, force: true });
      if (abandoned || recovered) {
        this.deps.log.warn({ abandoned, recovered }, 'patriot import: recovered an interrupted run');
        await this.combineLog.write('WARNING', `Recovered an interrupted run: ${recovered} claimed file(s) restored`);
      }
    } finally {
      await release();
    }
  }

  takeTrigger(): Trigger {
    const t = this.nextTrigger ?? 'schedule';
    this.nextTrigger = undefined;
    return t;
  }

  async run(trigger: Trigger): Promise<RunReport> {
    await this.start();
    const now = new Date();
    const runId = `${stampTime(now)}-${randomBytes(3).toString('hex')}`;
    const smb = this.cfg.patriot.smb;
    const transport = smb.enabled ? makeTransport(smb, this.cfg.dataDir) : undefined;
    const report: RunReport = {
      run_id: runId,
      trigger,
      started_at: now.toISOString(),
      finished_at: null,
      batch_time: batchTime(now),
      result: 'running',
      clients: 0,
      bytes: 0,
      rejected: 0,
      waiting: 0,
      checked: 0,
      check_failed: 0,
      rotated_as: null,
      transport: transport?.describe ?? 'none (smb.enabled is false)',
      error: null,
      recovered: 0,
      rejected_files: [],
      failed_ids: [],
      gave_up_ids: [],
    };
    const releaseLock = await acquireLock(this.local(path.join(WORK_DIR, 'run.lock')));
    try {
      this.store.abandonRuns(); // under the lock, a run still marked running is one that died
      this.store.startRun(report);
    } catch (e) {
      await releaseLock();
      throw e;
    }
    let claims: Claim[] = [];
    const t0 = Date.now();
    const timings = { combine: 0, remote: 0, commit: 0 };
    try {
      report.recovered = await recoverClaims(this.cfg.patriot.xmlDir!);
      await this.combineLog.write('INFO', `Run ${runId} started (${trigger})`);
      const rows = await this.combine(runId, report, (c) => claims.push(c));
      timings.combine = Date.now() - t0;
      if (rows.size > 0) {
        const text = combineRows(rows.values());
        report.bytes = Buffer.byteLength(text);
        await writeFileDurable(this.local(READY_FILE), text);
        await this.combineLog.write('INFO', `Combined ${rows.size} client(s) into ${READY_FILE} (${report.bytes} bytes); ${report.waiting} file(s) wait for the next run`);
      }
      report.clients = rows.size;
      if (!transport) {
        // kept locally only: the claimed files go back, so nothing leaves the XML dir unsent
        await this.restoreAll(claims);
        claims = [];
        report.result = rows.size ? 'local' : 'empty';
        await this.combineLog.write('INFO', 'SMB upload disabled; the combined file stays local and the per-client files are kept');
      } else {
        await transport.session(async (s) => {
          await this.checkAndRotate(s, report, claims);
          if (rows.size > 0) {
            await s.put(READY_FILE, REMOTE_XML);
            await this.combineLog.write('INFO', `Uploaded ${REMOTE_XML} (${rows.size} clients, ${report.bytes} bytes) to ${transport.describe}`);
          }
        });
        timings.remote = Date.now() - t0 - timings.combine;
        await this.commit(runId, report, rows, claims);
        timings.commit = Date.now() - t0 - timings.combine - timings.remote;
        claims = [];
        report.result = rows.size ? 'ok' : 'empty';
        this.m?.lastOk.set(Date.now() / 1000);
        this.m?.clients.inc(rows.size);
      }
    } catch (e) {
      report.result = 'failed';
      report.error = e instanceof TransportError || e instanceof XmlRejectError ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
      await this.restoreAll(claims).catch((err: unknown) => this.deps.log.error({ err }, 'patriot import: restoring claimed files failed'));
      this.deps.log.error({ runId, error: report.error }, 'patriot import run failed; per-client files kept for the next run');
      this.deps.notify('alert', `Patriot import run ${runId} failed: ${report.error}. Nothing was deleted; the next run retries.`);
      await this.combineLog.write('ERROR', `Run ${runId} failed: ${report.error}; nothing deleted, the next run retries`).catch(() => undefined);
    } finally {
      report.finished_at = new Date().toISOString();
      this.store.finishRun(report as RunRow & { finished_at: string });
      this.m?.runs.inc({ result: report.result });
      await this.writeStateFile().catch((err: unknown) => this.deps.log.error({ err }, 'patriot import: writing client_state.json failed'));
      await releaseLock();
    }
    if (report.result !== 'failed') {
      this.deps.log.info(
        { runId, result: report.result, ms: timings, clients: report.clients, bytes: report.bytes, waiting: report.waiting, rejected: report.rejected, rotatedAs: report.rotated_as },
        'patriot import run finished',
      );
    }
    return report;
  }

  /** Claims and parses files oldest first until maxClientsPerRun clients are collected. */
  private async combine(runId: string, report: RunReport, onClaim: (c: Claim) => void): Promise<Map<string, Row>> {
    const max = this.cfg.patriot.import.maxClientsPerRun;
    const files = await scanXmlFiles(this.cfg.patriot.xmlDir!);
    const rows = new Map<string, Row>();
    let i = 0;
    while (i < files.length && rows.size < max) {
      const slice = files.slice(i, i + Math.min(256, max - rows.size));
      i += slice.length;
      const got = await Promise.all(
        slice.map(async (f) => {
          const c = await claim(f, runId);
          if (!c) return null;
          onClaim(c);
          c.version = c.clientId === null ? null : this.store.versionOf(c.keyName, c.clientId);
          return { c, text: await readFile(c.claimed, 'utf8') };
        }),
      );
      for (const g of got) {
        if (!g) continue;
        let parsed;
        try {
          parsed = parseClientXml(g.text);
        } catch (e) {
          if (!(e instanceof XmlRejectError)) throw e;
          await this.reject(runId, g.c, e.message, report);
          continue;
        }
        const fresh = parsed.filter((r) => !rows.has(r.id)).length;
        if (rows.size > 0 && rows.size + fresh > max) {
          await restore(g.c.claimed, g.c.file); // does not fit this batch
          g.c.claimed = '';
          report.waiting++;
          continue;
        }
        for (const r of parsed) rows.set(r.id, { id: r.id, xml: r.xml, claim: g.c }); // oldest first: a later duplicate wins
      }
    }
    report.waiting += files.length - i;
    return rows;
  }

  private async reject(runId: string, c: Claim, reason: string, report: RunReport): Promise<void> {
    const target = this.local(path.join('rejected', path.dirname(c.rel), `${path.basename(c.rel, '.xml')}.${runId}.xml`));
    await mkdir(path.dirname(target), { recursive: true });
    await rename(c.claimed, target);
    c.claimed = '';
    report.rejected++;
    report.rejected_files.push(c.rel);
    this.m?.rejected.inc();
    const text = `Rejected ${c.rel}: ${reason}; moved to ${path.relative(this.cfg.dataDir, target)}`;
    await this.errorLog.write('ERROR', text);
    await this.combineLog.write('ERROR', text);
    this.deps.log.warn({ file: c.rel, reason }, 'patriot import: rejected a per-client XML file');
    this.deps.notify('alert', `Patriot import: ${text}`);
  }

  private async restoreAll(claims: Claim[]): Promise<void> {
    for (const c of claims) if (c.claimed) await restore(c.claimed, c.file);
  }

  /** Steps (1) and (2): the results check of the remote clients.xml, then its rotation. */
  private async checkAndRotate(s: RemoteSession, report: RunReport, claims: Claim[]): Promise<void> {
    await mkdir(this.local(WORK_DIR), { recursive: true });
    if (!(await s.get(REMOTE_XML, FETCHED_XML))) return;
    const hasResults = await s.get(REMOTE_RESULTS, FETCHED_RESULTS);
    let ids: string[] | null = null;
    try {
      ids = idsOfCombined(await readFile(this.local(FETCHED_XML), 'utf8'));
    } catch (e) {
      await this.errorLog.write('ERROR', `Remote ${REMOTE_XML} could not be read for the results check: ${(e as Error).message}`);
    }
    const results = hasResults ? decodeResults(await readFile(this.local(FETCHED_RESULTS))) : null;
    // (2) rotation first: the check is applied only once its clients.xml has left the share
    const stamp = stampTime();
    let gone = false;
    for (let n = 0; n < 100 && !report.rotated_as && !gone; n++) {
      const name = n === 0 ? `clients_${stamp}.xml` : `clients_${stamp}_${n}.xml`;
      const r = await s.rename(REMOTE_XML, name);
      if (r === 'ok') report.rotated_as = name;
      else if (r === 'missing') gone = true; // taken by the importer meanwhile
    }
    if (!report.rotated_as && !gone) throw new TransportError(`cannot rename the remote ${REMOTE_XML}: clients_${stamp}.xml and 99 alternatives exist`, 'EXISTS');
    if (report.rotated_as) await this.combineLog.write('INFO', `Renamed remote ${REMOTE_XML} to ${report.rotated_as}`);
    if (ids) await this.applyCheck(ids, results, report, claims);
  }

  private async applyCheck(ids: string[], results: string | null, report: RunReport, claims: Claim[]): Promise<void> {
    const { completed, missing } = checkResults(ids, results);
    report.checked = completed.length + missing.length;
    report.check_failed = missing.length;
    report.failed_ids = missing;
    const resolve = (id: string) => this.store.clientOf(id) ?? this.deps.resolveId?.(id);
    const known = (xs: string[]) => xs.map((id) => ({ id, c: resolve(id) }));
    const ok = known(completed).flatMap((x) => (x.c ? [x.c] : []));
    const bad = known(missing);
    const failed = this.store.applyCheck(ok, bad.flatMap((x) => (x.c ? [x.c] : [])));
    if (missing.length === 0) {
      await this.combineLog.write('INFO', `Results check: all ${completed.length} client(s) of the previous batch completed`);
      return;
    }
    this.m?.failed.inc(missing.length);
    const why = results === null ? `${REMOTE_RESULTS} not found` : `no "Completed processing client" line in ${REMOTE_RESULTS}`;
    await this.errorLog.write('ERROR', ...missing.map((id) => `${id}: import not confirmed (${why})`));
    await this.combineLog.write('WARNING', `Results check: ${missing.length} of ${report.checked} client(s) not confirmed; see import_errors.log`);
    const inBatch = new Set(claims.map((c) => `${c.keyName}\0${c.clientId}`));
    const maxAttempts = this.cfg.patriot.import.maxImportAttempts;
    const byKey = new Map(bad.filter((x) => x.c).map((x) => [`${x.c!.key_name}\0${x.c!.client_id}`, x.id]));
    const notes: string[] = [];
    for (const f of failed) {
      const key = `${f.key_name}\0${f.client_id}`;
      const id = byKey.get(key) ?? `${f.client_id}`;
      if (f.attempts >= maxAttempts) {
        report.gave_up_ids.push(id);
        continue;
      }
      if (inBatch.has(key) || f.status === 'changed') continue; // a newer version is on its way already
      let done = false;
      try {
        done = this.deps.regenerate ? await this.deps.regenerate(f.key_name, f.client_id) : false;
      } catch (e) {
        this.deps.log.error({ err: e, key: f.key_name, client: f.client_id }, 'patriot import: regenerating a failed client failed');
      }
      if (!done) notes.push(`${id}: could not regenerate the client's XML (client deleted or no writer available)`);
    }
    for (const x of bad) if (!x.c) notes.push(`${x.id}: not a client of any known batch or key; cannot retry`);
    if (notes.length) await this.errorLog.write('ERROR', ...notes);
    if (report.gave_up_ids.length) {
      const text = `Patriot did not import ${report.gave_up_ids.length} client(s) after ${maxAttempts} attempts: ${report.gave_up_ids.slice(0, 20).join(', ')}${report.gave_up_ids.length > 20 ? ', ...' : ''}`;
      await this.errorLog.write('ERROR', text);
      this.deps.notify('alert', text);
    }
  }

  /** After a successful upload: drop the claims, record the batch, mark the clients pending_import. */
  private async commit(runId: string, report: RunReport, rows: Map<string, Row>, claims: Claim[]): Promise<void> {
    const items: BatchItem[] = [];
    for (const r of rows.values()) {
      if (r.claim.clientId === null) continue;
      items.push({ xmlId: r.id, keyName: r.claim.keyName, clientId: r.claim.clientId, version: r.claim.version ?? null });
    }
    // a client the API rewrote during the run keeps its state; its new file goes in the next batch
    const changed = new Set<string>();
    await Promise.all(
      claims.map(async (c) => {
        if (c.claimed && (await supersededBy(c.file))) changed.add(`${c.keyName}\0${c.clientId}`);
      }),
    );
    for (const it of items) if (changed.has(`${it.keyName}\0${it.clientId}`)) it.version = -1;
    this.store.recordBatch(runId, report.batch_time, items);
    for (const c of claims) if (c.claimed) await release(c.claimed);
  }

  async writeStateFile(): Promise<void> {
    const state = this.store.exportState();
    await writeFileDurable(this.local('client_state.json'), JSON.stringify(state, null, 2) + '\n');
  }

  /** Folder listing helper for tests and the admin view: files still waiting in the XML dir. */
  async waitingFiles(): Promise<number> {
    return (await scanXmlFiles(this.cfg.patriot.xmlDir!)).length;
  }
}

/** clients_Import_Results.txt as text: UTF-16 with a BOM (Windows tools), else UTF-8. */
export function decodeResults(buf: Buffer): string {
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) {
    const b = Buffer.from(buf.subarray(2));
    b.swap16();
    return b.toString('utf16le');
  }
  return buf.toString('utf8');
}

