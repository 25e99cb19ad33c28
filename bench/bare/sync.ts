/**
 * Bare form route of the sync POST's I/O shape: parse a form body (urlencoded), write the `data`
 * field to a file atomically with fsync, answer the same JSON. No auth, no SQLite, no processing.
 * And the GET /sync shape: a prepared buffer of a given size (`/bare/sync-get?bytes=N`).
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
  // GET /sync's shape: a prepared buffer of the asked size, sent as it is
  const prepared = new Map<number, Buffer>();
  app.get('/bare/sync-get', async (req, reply) => {
    const bytes = Number((req.query as { bytes?: string }).bytes);
    let b = prepared.get(bytes);
    if (!b) prepared.set(bytes, (b = Buffer.alloc(bytes, 'A')));
    return reply.type('application/json').send(b);
  });
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
