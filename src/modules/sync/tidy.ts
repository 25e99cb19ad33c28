/** The plugin folder after a crash: temp files removed, the renames of committed payloads finished. */
import { readdir, rename, rm } from 'node:fs/promises';
import { safeJoin, type DurableDir } from '../../core/files.js';
import type { Log } from '../../core/logger.js';
import { fileComponent, fileNames, type PayloadFiles } from './names.js';
import type { SyncStore } from './store.js';

/**
 * Start-up tidying of what a crash (kill -9, power loss) can leave in the plugin folder; call
 * before the server takes requests. Returns how many files were dealt with.
 * - temp files of write-file-atomic (`<name>.<number>`): their rename never happened, so they were
 *   never acknowledged; removed.
 * - `last_result.<plugin>.encoded.<node>.<seq>.log` of a payload whose result was committed
 *   (status processed or failed) before the renames ran: the renames are finished (decoded ->
 *   processed_..., encoded removed; or encoded -> failed_...), as processing would have done.
 */
export async function tidyAfterCrash(durable: DurableDir, db: SyncStore, log: Log): Promise<number> {
  const p = (name: string) => safeJoin(durable.dir, name);
  let names: string[];
  try {
    names = await readdir(durable.dir);
  } catch (e) {
    // no folder yet, or an unusable one (the first write will say why): nothing to tidy
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn({ err: e }, 'sync: cannot list the plugin folder to tidy it');
    return 0;
  }
  let temps = 0;
  let finished = 0;
  for (const n of names) {
    if (/\.log\.\d+$/.test(n)) {
      await rm(p(n), { force: true });
      temps++;
      continue;
    }
    // the plugin has no dots and the sequence is last: the node component is everything between
    const m = /^last_result\.([A-Za-z0-9_-]{1,64})\.encoded\.(.*)\.(\d+)\.log$/.exec(n);
    if (!m) continue;
    const row = db.rowsOf(m[1]!, Number(m[3])).find((r) => fileComponent(r.node) === m[2]);
    if (!row) continue;
    const status = row.status;
    const f = fileNames(m[1]!, row.node, Number(m[3]));
    if (status === 'processed') {
      await rename(p(f.decoded), p(f.processed)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await rm(p(f.encoded), { force: true });
      finished++;
    } else if (status === 'failed') {
      await keepFailed(durable.dir, f, log);
      finished++;
    }
  }
  if (temps || finished) {
    await durable.sync();
    log.warn(
      { temps, finished },
      'sync: tidied the plugin folder after an interrupted run (temp files removed, renames of committed payloads finished)',
    );
  }
  return temps + finished;
}

/** Keeps a payload that could not be processed as failed_...; best effort (the row says failed either way). */
export async function keepFailed(dir: string, names: PayloadFiles, log: Log): Promise<void> {
  try {
    await rename(safeJoin(dir, names.encoded), safeJoin(dir, names.failed));
    await rm(safeJoin(dir, names.decoded), { force: true });
  } catch (e) {
    log.error({ err: e }, 'sync: renaming a failed payload failed');
  }
}
