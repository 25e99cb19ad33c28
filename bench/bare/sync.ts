/**
 * Bare form route of the sync POST's I/O shape: parse a form body (urlencoded), write the `data`
 * field to a file atomically with fsync, answer the same JSON. No auth, no SQLite, no processing.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

export default async function bareSync(app: FastifyInstance): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fieldhub-bare-sync-'));
  process.once('SIGTERM', () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  let n = 0;
  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 50 * 1024 * 1024 });
    scope.post('/bare/sync-form', { bodyLimit: 50 * 1024 * 1024 }, async (req) => {
      const b = req.body as { data?: string; node_name?: string; plugin?: string };
      if (typeof b.data !== 'string' || !b.node_name || !b.plugin)
        throw Object.assign(new Error('bad form'), { statusCode: 400 });
      await writeFileAtomic(path.join(dir, `last_result.${n++ % 64}.log`), b.data, { fsync: true });
      return { message: 'Data received and stored successfully' };
    });
  });
}
