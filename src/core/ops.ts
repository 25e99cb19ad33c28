/** The ops surface: liveness, readiness, Prometheus metrics. */
import type { FastifyInstance } from 'fastify';

export async function opsRoutes(app: FastifyInstance): Promise<void> {
  const hide = { schema: { hide: true } };
  app.get('/healthz', { ...hide, logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { ...hide, logLevel: 'warn' }, async (_req, reply) => {
    const store = app.store.ping();
    const scheduler = app.scheduler.running;
    const ok = store && scheduler;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', store, scheduler });
  });

  app.get('/metrics', { ...hide, logLevel: 'warn' }, async (_req, reply) => {
    const body = await app.metrics.registry.metrics();
    return reply.type(app.metrics.registry.contentType).send(body);
  });
}
