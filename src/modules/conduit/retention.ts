/**
 * Retention: datapoints older than conduit.retentionDays are deleted in small batches, each one a
 * write of the writer thread (writes.ts `conduit.prune`), so ingest commits between them. On
 * PostgreSQL the same op (writes-pg.ts, partitions.ts) first drops the monthly partitions entirely
 * older than the cutoff (their rows counted), then deletes the older rows of the rest in batches.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../core/config.js';

export const PRUNE_BATCH = 5000;

export function retentionJob(
  /** deletes up to `batch` datapoints older than `before` (unix seconds); resolves with how many */
  prune: (before: number, batch: number) => Promise<number>,
  config: Config['conduit'],
  log: Pick<FastifyBaseLogger, 'info'>,
  now = () => Date.now(),
) {
  return async (signal: AbortSignal): Promise<{ deleted: number; before?: number }> => {
    if (!config.retentionDays) return { deleted: 0 };
    const before = Math.floor(now() / 1000 - config.retentionDays * 86400);
    let deleted = 0;
    for (;;) {
      const n = await prune(before, PRUNE_BATCH);
      deleted += n;
      if (n < PRUNE_BATCH || signal.aborted) break;
    }
    if (deleted) log.info({ deleted, before }, 'conduit retention: datapoints pruned');
    return { deleted, before };
  };
}
