/** Bare counterpart of conduit ingest: a gzip JSON array POST, inflated and parsed, answered with its length. No store. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

export default async function bareConduit(app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: 5 * 1024 * 1024 },
    async (req: FastifyRequest, body: Buffer) =>
      JSON.parse(
        (req.headers['content-encoding'] === 'gzip' ? await gunzipAsync(body) : body).toString('utf8'),
      ) as unknown,
  );
  app.post('/bare/conduit/ingest', async (req) => ({ code: '200', accepted: (req.body as unknown[]).length }));
}
