/**
 * Operator tools: put failed payloads back in the queue (after fixing a passphrase, say), and
 * decode a stored payload to read it. Used by the admin API and the `fieldhub sync ...` commands,
 * on either driver (PostgreSQL: the payloads are in sync_payloads, the writes are writes-pg.ts).
 */
import { readFile, rename } from 'node:fs/promises';
import { PgWriter } from '../../core/pg.js';
import type { CliCommand } from '../../core/module.js';
import { exists, safeJoin } from '../../core/files.js';
import { fileNames } from './names.js';
import { decodePayload, PayloadError } from './payload.js';
import { SyncStore } from './store.js';
import { SyncStorePg } from './store-pg.js';
import { writesPg } from './writes-pg.js';

/**
 * Renames every failed_... payload back to its encoded name and marks it `received` again (file
 * first: a crash in between leaves the encoded file with a failed row, which the next call finds).
 * Returns the number of payloads queued; rows whose file is gone are left as they are.
 */
export async function requeueFailed(
  db: SyncStore,
  dir: string,
  /** the server's: through the writer thread; the CLI's: db.requeue */
  requeue: (id: number) => Promise<void> | void = (id) => db.requeue(id),
): Promise<number> {
  let n = 0;
  for (const r of db.failedRows()) {
    const names = fileNames(r.plugin, r.node, r.seq);
    const failed = safeJoin(dir, names.failed);
    const encoded = safeJoin(dir, names.encoded);
    if (await exists(failed)) await rename(failed, encoded);
    else if (!(await exists(encoded))) continue;
    await requeue(r.id);
    n++;
  }
  return n;
}

/** requeueFailed on PostgreSQL: every failed payload whose data is held is marked `received` again. */
export async function requeueFailedPg(db: SyncStorePg, requeue: (id: number) => Promise<void>): Promise<number> {
  const rows = await db.failedWithPayload();
  for (const r of rows) await requeue(r.id);
  return rows.length;
}

export const commands: Record<string, CliCommand> = {
  'retry-failed': {
    usage: '',
    summary: 'queue the failed payloads again (a running server processes them with its next payload, or at start-up)',
    async run(_args, ctx) {
      let n: number;
      if (ctx.pg) {
        const writer = new PgWriter(ctx.pg, writesPg());
        n = await requeueFailedPg(new SyncStorePg(ctx.pg), async (id) => {
          await writer.run('sync.requeue', id);
        });
      } else n = await requeueFailed(new SyncStore(ctx.store.db), safeJoin(ctx.config.dataDir, 'log', 'plugins'));
      ctx.out(`${n} payload(s) queued again`);
      return 0;
    },
  },
  decode: {
    usage: 'FILE PLUGIN',
    summary:
      'print a stored payload decoded (decrypted with sync.encryptionKey when set); on PostgreSQL FILE may be a stored payload name',
    async run(args, ctx) {
      const [file, plugin] = args;
      if (!file || !plugin) {
        ctx.out('usage: fieldhub sync decode FILE PLUGIN');
        return 2;
      }
      try {
        let raw: string;
        const held = ctx.pg && !(await exists(file)) ? await new SyncStorePg(ctx.pg).payload(file) : undefined;
        if (held) raw = held.toString('utf8');
        else raw = await readFile(file, 'utf8');
        const d = decodePayload(raw, { plugin, passphrase: ctx.config.sync.encryptionKey, source: 'post' });
        ctx.out(d.text);
        return 0;
      } catch (e) {
        ctx.out(`cannot decode ${file}: ${e instanceof PayloadError ? e.message : (e as Error).message}`);
        return 1;
      }
    },
  },
};
