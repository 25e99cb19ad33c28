/** Bare routes of generic shapes: an empty 200 and a small JSON answer. */
import type { FastifyInstance } from 'fastify';

export default async function bareCore(app: FastifyInstance): Promise<void> {
  app.get('/bare/empty', async (_req, reply) => reply.code(200).send());
  app.get('/bare/json', async () => ({ status: 'ok' }));
}
