/** Core's own write ops, run by the writer thread beside the modules' (src/core/writer.ts). */
import { PRUNE_NOTIFICATIONS, type DB } from './db.js';

export function writes(db: DB) {
  const prune = db.prepare(PRUNE_NOTIFICATIONS);
  return {
    'core.pruneNotifications': (a: unknown) => prune.run((a as { before: string }).before).changes,
  };
}
