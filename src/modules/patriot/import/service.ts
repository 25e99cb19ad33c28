/**
 * One import run: claim per-client XML files (oldest first, at most maxClientsPerRun clients),
 * combine them into ready_for_import/clients.xml, check the previous batch against Patriot's
 * results file, rotate the remote clients.xml, upload the new one, and only then drop the claimed
 * files and mark the clients pending_import. Any failure restores every claim: nothing is lost,
 * the next run retries. See docs/patriot-import.md.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { safeJoin, writeFileDurable } from '../../../core/files.js';
import { collectBatch } from './batch.js';
import { recoverClaims, release, restore, supersededBy, type Claim } from './claims.js';
import {
  importMetrics,
  READY_FILE,
  REMOTE_XML,
  WORK_DIR,
  type ImportDeps,
  type Row,
  type RunContext,
  type RunReport,
  type Trigger,
} from './context.js';
import { acquireLock, RunLockedError } from './lock.js';
import { batchTime, stampTime, TextLog } from './logs.js';
import { checkAndRotate } from './results.js';
import { AUTH_DIR } from './smbclient.js';
import { ImportStore, type BatchItem, type RunRow } from './state.js';
import { makeTransport, TransportError } from './transport.js';
import { combineRows, XmlRejectError } from './xml.js';

export { decodeResults } from './results.js';
export {
  READY_FILE,
  REMOTE_RESULTS,
  REMOTE_XML,
  type ImportDeps,
  type ImportLog,
  type RunReport,
  type Trigger,
} from './context.js';

export class ImportService {
  readonly store: ImportStore;
  private readonly combineLog: TextLog;
  private readonly errorLog: TextLog;
  private readonly m;
  private readonly ctx: RunContext;
  private started = false;

  constructor(private readonly deps: ImportDeps) {
    this.store = new ImportStore(deps.db);
    this.combineLog = new TextLog(path.join(deps.config.dataDir, 'xml_combine.log'));
    this.errorLog = new TextLog(path.join(deps.config.dataDir, 'import_errors.log'));
    this.m = importMetrics(deps.metrics);
    this.ctx = {
      config: deps.config,
      store: this.store,
      deps,
      combineLog: this.combineLog,
      errorLog: this.errorLog,
      metrics: this.m,
      local: (rel) => this.local(rel),
    };
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
      const recovered = await recoverClaims(this.cfg.patriot.xmlDir, (runId) => this.store.hasBatch(runId));
      await rm(this.local(AUTH_DIR), { recursive: true, force: true });
      if (abandoned || recovered) {
        this.deps.log.warn({ abandoned, recovered }, 'patriot import: recovered an interrupted run');
        await this.combineLog.write(
          'WARNING',
          `Recovered an interrupted run: ${recovered} claimed file(s) restored (or dropped when their batch had been recorded)`,
        );
      }
    } finally {
      await release();
    }
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
      report.recovered = await recoverClaims(this.cfg.patriot.xmlDir, (runId) => this.store.hasBatch(runId));
      await this.combineLog.write('INFO', `Run ${runId} started (${trigger})`);
      const rows = await collectBatch(this.ctx, runId, report, (c) => claims.push(c));
      timings.combine = Date.now() - t0;
      if (rows.size > 0) {
        const text = combineRows(rows.values());
        report.bytes = Buffer.byteLength(text);
        await writeFileDurable(this.local(READY_FILE), text);
        await this.combineLog.write(
          'INFO',
          `Combined ${rows.size} client(s) into ${READY_FILE} (${report.bytes} bytes); ${report.waiting} file(s) wait for the next run`,
        );
      }
      report.clients = rows.size;
      if (!transport) {
        // kept locally only: the claimed files go back, so nothing leaves the XML dir unsent
        await this.restoreAll(claims);
        claims = [];
        report.result = rows.size ? 'local' : 'empty';
        await this.combineLog.write(
          'INFO',
          'SMB upload disabled; the combined file stays local and the per-client files are kept',
        );
      } else {
        await transport.session(async (s) => {
          await checkAndRotate(this.ctx, s, report, claims);
          if (rows.size > 0) {
            await s.put(READY_FILE, REMOTE_XML);
            await this.combineLog.write(
              'INFO',
              `Uploaded ${REMOTE_XML} (${rows.size} clients, ${report.bytes} bytes) to ${transport.describe}`,
            );
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
      report.error =
        e instanceof TransportError || e instanceof XmlRejectError
          ? e.message
          : `${(e as Error).name}: ${(e as Error).message}`;
      await this.restoreAll(claims).catch((err: unknown) =>
        this.deps.log.error({ err }, 'patriot import: restoring claimed files failed'),
      );
      this.deps.log.error(
        { runId, error: report.error },
        'patriot import run failed; per-client files kept for the next run',
      );
      this.deps.notify(
        'alert',
        `Patriot import run ${runId} failed: ${report.error}. Nothing was deleted; the next run retries.`,
      );
      await this.combineLog
        .write('ERROR', `Run ${runId} failed: ${report.error}; nothing deleted, the next run retries`)
        .catch(() => undefined);
    } finally {
      report.finished_at = new Date().toISOString();
      this.store.finishRun(report as RunRow & { finished_at: string });
      this.m?.runs.inc({ result: report.result });
      await this.writeStateFile().catch((err: unknown) =>
        this.deps.log.error({ err }, 'patriot import: writing client_state.json failed'),
      );
      await releaseLock();
    }
    if (report.result !== 'failed') {
      this.deps.log.info(
        {
          runId,
          result: report.result,
          ms: timings,
          clients: report.clients,
          bytes: report.bytes,
          waiting: report.waiting,
          rejected: report.rejected,
          rotatedAs: report.rotated_as,
        },
        'patriot import run finished',
      );
    }
    return report;
  }

  private async restoreAll(claims: Claim[]): Promise<void> {
    await inSlices(claims, (c) => (c.claimed ? restore(c.claimed, c.file) : undefined));
  }

  /** After a successful upload: drop the claims, record the batch, mark the clients pending_import. */
  private async commit(runId: string, report: RunReport, rows: Map<string, Row>, claims: Claim[]): Promise<void> {
    const items: BatchItem[] = [];
    for (const r of rows.values()) {
      if (r.claim.clientId === null) continue;
      items.push({
        xmlId: r.id,
        keyName: r.claim.keyName,
        clientId: r.claim.clientId,
        version: r.claim.version ?? null,
      });
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
    await inSlices(claims, (c) => (c.claimed ? release(c.claimed) : undefined));
  }

  async writeStateFile(): Promise<void> {
    const state = this.store.exportState();
    await writeFileDurable(this.local('client_state.json'), JSON.stringify(state, null, 2) + '\n');
  }
}

/** Runs `fn` over `items`, 64 at a time (file operations: keeps the thread pool busy, bounded). */
async function inSlices<T>(items: T[], fn: (x: T) => Promise<unknown> | undefined): Promise<void> {
  for (let i = 0; i < items.length; i += 64) await Promise.all(items.slice(i, i + 64).map(async (x) => fn(x)));
}
