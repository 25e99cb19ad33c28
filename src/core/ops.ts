/** The ops surface: liveness, readiness, Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import { lazyWarnLogger } from './lazy-log.js';

export async function opsRoutes(app: FastifyInstance): Promise<void> {
  // logged at warn: the request's child logger is built only when a warn/error line is written
  const opts = { schema: { hide: true }, logLevel: 'warn', childLoggerFactory: lazyWarnLogger } as const;
  app.get('/healthz', opts, async () => ({ status: 'ok' }));

  app.get('/readyz', opts, async (_req, reply) => {
    const store = app.pg ? await app.pg.ping() : app.store.ping();
    const scheduler = app.scheduler.running;
    const ok = store && scheduler;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', store, scheduler });
  });

  app.get('/metrics', opts, async (_req, reply) => {
    const body = await app.metrics.registry.metrics();
    return reply.type(app.metrics.registry.contentType).send(body);
  });
}
