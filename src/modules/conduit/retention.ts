/** Retention: datapoints older than conduit.retentionDays are deleted in small batches, yielding between them. */
import type { FastifyBaseLogger } from 'fastify';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Config } from '../../core/config.js';
import type { ConduitStore } from './store.js';

export const PRUNE_BATCH = 5000;

export function retentionJob(
  store: ConduitStore,
  config: Config['conduit'],
  log: Pick<FastifyBaseLogger, 'info'>,
  now = () => Date.now(),
) {
  return async (signal: AbortSignal): Promise<{ deleted: number; before?: number }> => {
    if (!config.retentionDays) return { deleted: 0 };
    const before = Math.floor(now() / 1000 - config.retentionDays * 86400);
    let deleted = 0;
    for (;;) {
      const n = store.prune(before, PRUNE_BATCH);
      deleted += n;
      if (n < PRUNE_BATCH || signal.aborted) break;
      await yieldToLoop();
    }
    if (deleted) log.info({ deleted, before }, 'conduit retention: datapoints pruned');
    return { deleted, before };
  };
}
