/** Core's own write ops on PostgreSQL (PgWriter), the same names and results as writes.ts. */
import { PRUNE_BATCH } from './db.js';
import type { PgWrites } from './pg.js';

export function writesPg(): PgWrites {
  return {
    'core.pruneNotifications': async (c, a) => {
      const { before } = a as { before: string };
      const r = await c.query(
        `DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created_at < $1 LIMIT ${PRUNE_BATCH})`,
        [before],
      );
      await c.query('DELETE FROM job_runs WHERE slot < $1', [before]);
      return r.rowCount ?? 0;
    },
  };
}
