/** Core's own write ops, run by the writer thread beside the modules' (src/core/writer.ts). */
import type { DB } from './db.js';

/** rows deleted per write: the retention job repeats the op until fewer come back */
export const PRUNE_BATCH = 5000;

export function writes(db: DB) {
  const prune = db.prepare(
    `DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created_at < ? LIMIT ${PRUNE_BATCH})`,
  );
  return {
    'core.pruneNotifications': (a: unknown) => prune.run((a as { before: string }).before).changes,
  };
}
