/**
 * Where a run finds the per-client XML and how it holds it: the hand-over between the API and the
 * import. On SQLite the files under the XML dir (claims.ts: claimed by a rename, a run lock file);
 * on PostgreSQL the rows of `patriot_client_xml` (handover-pg.ts: claimed by the run's id in the
 * row, a cluster-wide advisory lock), so two replicas never upload one client twice.
 */
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { collectBatch } from './batch.js';
import { recoverClaims, releaseAll, restoreAll, supersededClients, type Claim } from './claims.js';
import { WORK_DIR, type Row, type RunContext, type RunReport } from './context.js';
import { acquireLock } from './lock.js';
import type { ImportStore } from './store.js';

export interface HandOver {
  /** the run lock (throws RunLockedError when another run holds it); `startup`: the start-up recovery's */
  lock(startup?: boolean): Promise<() => Promise<void>>;
  /** under the lock: leftovers of a run that died restored (or dropped when its batch was recorded); how many */
  recover(): Promise<number>;
  /** claims the run's clients (oldest first, bounded) and parses them; `onClaim` sees each claim */
  collect(ctx: RunContext, runId: string, report: RunReport, onClaim: (c: Claim) => void): Promise<Map<string, Row>>;
  /** every claim given back (failed or local-only run) */
  restoreAll(claims: readonly Claim[]): Promise<void>;
  /** every claim dropped (uploaded and recorded) */
  releaseAll(claims: readonly Claim[]): Promise<void>;
  /** `key\0client` of the claimed clients the API rewrote during the run */
  superseded(claims: readonly Claim[]): Promise<Set<string>>;
}

/** The files under the XML dir (SQLite). */
export class FileHandOver implements HandOver {
  constructor(
    private readonly xmlDir: string,
    private readonly lockFile: string,
    private readonly store: ImportStore,
  ) {}

  static lockPath(local: (rel: string) => string): string {
    return local(path.join(WORK_DIR, 'run.lock'));
  }

  async lock(startup = false): Promise<() => Promise<void>> {
    if (startup) {
      const owner = Number((await readFile(this.lockFile, 'utf8').catch(() => '')).trim());
      // a previous life with our pid (pid 1 in a container)
      if (owner === process.pid) await unlink(this.lockFile).catch(() => undefined);
    }
    return acquireLock(this.lockFile);
  }

  recover(): Promise<number> {
    return recoverClaims(this.xmlDir, (runId) => this.store.hasBatch(runId));
  }

  collect(ctx: RunContext, runId: string, report: RunReport, onClaim: (c: Claim) => void) {
    return collectBatch(ctx, runId, report, onClaim);
  }

  restoreAll(claims: readonly Claim[]) {
    return restoreAll(claims);
  }

  releaseAll(claims: readonly Claim[]) {
    return releaseAll(claims);
  }

  superseded(claims: readonly Claim[]) {
    return supersededClients(claims);
  }
}
