/**
 * One import run: claim per-client XML files (oldest first, at most maxClientsPerRun clients),
 * combine them into ready_for_import/clients.xml, check the previous batch against Patriot's
 * results file, rotate the remote clients.xml, upload the new one, and only then drop the claimed
 * files and mark the clients pending_import. Any failure restores every claim: nothing is lost,
 * the next run retries. See docs/patriot-import.md.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { safeJoin, writeFileDurable } from '../../../core/files.js';
import { PgWriter } from '../../../core/pg.js';
import type { Claim } from './claims.js';
import {
  importMetrics,
  newReport,
  READY_FILE,
  REMOTE_XML,
  type ImportDeps,
  type Row,
  type RunContext,
  type RunReport,
  type Trigger,
} from './context.js';
import { FileHandOver, type HandOver } from './handover.js';
import { PgHandOver } from './handover-pg.js';
import { RunLockedError } from './lock.js';
import { stampTime, TextLog } from './logs.js';
import { checkAndRotate } from './results.js';
import { AUTH_DIR } from './smbclient.js';
import { ImportStorePg } from './store-pg.js';
import { ImportStore, type BatchItem, type ImportReads } from './store.js';
import { makeTransport, TransportError } from './transport.js';
import { localWrites, writerWrites, type RunWrite } from '../writes.js';
import { writesPg } from '../writes-pg.js';
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

/** One run in progress: its report, transport, lock, the files it has claimed so far, its timings. */
interface Run {
  report: RunReport;
  transport: ReturnType<typeof makeTransport> | undefined;
  releaseLock: () => Promise<void>;
  claims: Claim[];
  t0: number;
  timings: { combine: number; remote: number; commit: number };
}

export class ImportService {
  readonly store: ImportReads;
  private readonly handover: HandOver;
  private readonly combineLog: TextLog;
  private readonly errorLog: TextLog;
  private readonly m;
  private readonly ctx: RunContext;
  private readonly write: RunWrite;
  private started = false;

  constructor(private readonly deps: ImportDeps) {
    this.combineLog = new TextLog(path.join(deps.config.dataDir, 'xml_combine.log'));
    this.errorLog = new TextLog(path.join(deps.config.dataDir, 'import_errors.log'));
    this.m = importMetrics(deps.metrics);
    if (deps.pg) {
      this.store = new ImportStorePg(deps.pg);
      this.write = deps.write ?? writerWrites(new PgWriter(deps.pg, writesPg()));
      this.handover = new PgHandOver(deps.pg, this.write);
    } else {
      if (!deps.db) throw new Error('patriot import: no store (db or pg)');
      const store = new ImportStore(deps.db);
      this.store = store;
      this.write = deps.write ?? localWrites(deps.db);
      this.handover = new FileHandOver(
        deps.config.patriot.xmlDir,
        FileHandOver.lockPath((rel) => this.local(rel)),
        store,
      );
    }
    this.ctx = {
      config: deps.config,
      store: this.store,
      write: this.write,
      deps,
      combineLog: this.combineLog,
      errorLog: this.errorLog,
      metrics: this.m,
      local: (rel) => this.local(rel),
      scanCache: new Map(),
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
    let release: (() => Promise<void>) | undefined;
    try {
      release = await this.handover.lock(true);
    } catch (e) {
      if (e instanceof RunLockedError) return; // another process is running; it owns its claims
      throw e;
    }
    try {
      const abandoned = await this.write<number>('patriot.import.abandonRuns');
      const recovered = await this.handover.recover();
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

  /**
   * One run: claim the per-client files, combine them, upload (or keep locally), finish. Any failure
   * restores every claim (nothing is lost; the next run retries).
   */
  async run(trigger: Trigger): Promise<RunReport> {
    await this.start();
    const run = await this.begin(trigger);
    try {
      const rows = await this.claim(run);
      await this.combine(run, rows);
      await this.upload(run, rows);
    } catch (e) {
      await this.fail(run, e);
    } finally {
      await this.finish(run);
    }
    return run.report;
  }

  /** The run's report and row, under the run lock (released by finish, or here when the row cannot be written). */
  private async begin(trigger: Trigger): Promise<Run> {
    const now = new Date();
    const runId = `${stampTime(now)}-${randomBytes(3).toString('hex')}`;
    const smb = this.cfg.patriot.smb;
    const transport = smb.enabled ? makeTransport(smb, this.cfg.dataDir) : undefined;
    const report = newReport(runId, trigger, now, transport?.describe ?? 'none (smb.enabled is false)');
    const releaseLock = await this.handover.lock();
    try {
      // under the lock, a run still marked running is one that died: marked so, then this run's row
      await this.write('patriot.import.startRun', report);
    } catch (e) {
      await releaseLock();
      throw e;
    }
    return {
      report,
      transport,
      releaseLock,
      claims: [],
      t0: Date.now(),
      timings: { combine: 0, remote: 0, commit: 0 },
    };
  }

  /** Claims of an interrupted run restored, then this run's files claimed (oldest first, bounded) and read. */
  private async claim(run: Run): Promise<Map<string, Row>> {
    const { report } = run;
    report.recovered = await this.handover.recover();
    await this.combineLog.write('INFO', `Run ${report.run_id} started (${report.trigger})`);
    const rows = await this.handover.collect(this.ctx, report.run_id, report, (c) => run.claims.push(c));
    run.timings.combine = Date.now() - run.t0;
    return rows;
  }

  /** The claimed clients combined into ready_for_import/clients.xml (written durably). */
  private async combine(run: Run, rows: Map<string, Row>): Promise<void> {
    const { report } = run;
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
  }

  /**
   * Without a transport the combined file stays local and the claims go back. Else: the previous
   * batch checked against Patriot's results and the remote file rotated, the new file uploaded, and
   * only then the claims dropped and the clients marked pending_import.
   */
  private async upload(run: Run, rows: Map<string, Row>): Promise<void> {
    const { report, transport } = run;
    if (!transport) {
      // kept locally only: the claimed files go back, so nothing leaves the XML dir unsent
      await this.handover.restoreAll(run.claims);
      run.claims = [];
      report.result = rows.size ? 'local' : 'empty';
      await this.combineLog.write(
        'INFO',
        'SMB upload disabled; the combined file stays local and the per-client files are kept',
      );
      return;
    }
    await transport.session(async (s) => {
      await checkAndRotate(this.ctx, s, report, run.claims);
      if (rows.size > 0) {
        await s.put(READY_FILE, REMOTE_XML);
        await this.combineLog.write(
          'INFO',
          `Uploaded ${REMOTE_XML} (${rows.size} clients, ${report.bytes} bytes) to ${transport.describe}`,
        );
      }
    });
    run.timings.remote = Date.now() - run.t0 - run.timings.combine;
    await this.commit(report.run_id, report, rows, run.claims);
    run.timings.commit = Date.now() - run.t0 - run.timings.combine - run.timings.remote;
    run.claims = [];
    report.result = rows.size ? 'ok' : 'empty';
    this.m?.lastOk.set(Date.now() / 1000);
    this.m?.clients.inc(rows.size);
  }

  /** A failed run: every claim restored, the failure logged, notified and written to the combine log. */
  private async fail(run: Run, e: unknown): Promise<void> {
    const { report } = run;
    const runId = report.run_id;
    report.result = 'failed';
    report.error =
      e instanceof TransportError || e instanceof XmlRejectError
        ? e.message
        : `${(e as Error).name}: ${(e as Error).message}`;
    await this.handover
      .restoreAll(run.claims)
      .catch((err: unknown) => this.deps.log.error({ err }, 'patriot import: restoring claimed files failed'));
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
  }

  /** The run's row finished, client_state.json written, the lock released; a run that did not fail logged. */
  private async finish(run: Run): Promise<void> {
    const { report } = run;
    try {
      report.finished_at = new Date().toISOString();
      await this.write('patriot.import.finishRun', report);
      this.m?.runs.inc({ result: report.result });
      await this.writeStateFile().catch((err: unknown) =>
        this.deps.log.error({ err }, 'patriot import: writing client_state.json failed'),
      );
    } finally {
      await run.releaseLock();
    }
    if (report.result !== 'failed') {
      this.deps.log.info(
        {
          runId: report.run_id,
          result: report.result,
          ms: run.timings,
          clients: report.clients,
          bytes: report.bytes,
          waiting: report.waiting,
          rejected: report.rejected,
          rotatedAs: report.rotated_as,
        },
        'patriot import run finished',
      );
    }
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
    const changed = await this.handover.superseded(claims);
    for (const it of items) if (changed.has(`${it.keyName}\0${it.clientId}`)) it.version = -1;
    await this.write('patriot.import.recordBatch', { runId, batch: report.batch_time, items });
    await this.handover.releaseAll(claims);
  }

  async writeStateFile(): Promise<void> {
    const state = await this.store.exportState();
    await writeFileDurable(this.local('client_state.json'), JSON.stringify(state, null, 2) + '\n');
  }
}
