/**
 * Builds the fieldhub Fastify app from a validated config. It never listens (src/main.ts does).
 * Reading this file gives the start-up order: external plugins, shared core, ops routes, modules.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { adminGuard, REDACT_PATHS, redactUrl } from './core/auth.js';
import type { Config } from './core/config.js';
import { Store } from './core/db.js';
import { classify, coreShape, installErrorFormat, logError } from './core/errors.js';
import { Metrics } from './core/metrics.js';
import type { FieldhubModule } from './core/module.js';
import { opsRoutes } from './core/ops.js';
import { Scheduler } from './core/scheduler.js';
import { Sessions } from './core/session.js';
import { consolePlugin } from './console/plugin.js';
import { modules as allModules } from './modules/index.js';

export interface BuildOptions {
  /** log destination (default stdout); tests pass a stream to read the log lines */
  logStream?: DestinationStream;
  /** start the scheduler when the app is ready (default true) */
  startScheduler?: boolean;
  /** the modules to mount (default all four; each is mounted only when `<module>.enabled`) */
  modules?: readonly FieldhubModule[];
  /** collect process metrics (default true) */
  defaultMetrics?: boolean;
}

export function loggerOptions(config: Config, stream?: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level: config.server.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip ?? req.socket?.remoteAddress,
      }),
    },
    ...(stream ? { stream } : {}),
  };
}

/** Migrates every module's tables (also for disabled modules, so that CLI commands and re-enabling work). */
export function openStore(config: Config, modules: readonly FieldhubModule[] = allModules): Store {
  const store = new Store({ dataDir: config.dataDir, synchronous: config.store.synchronous, busyTimeoutMs: config.store.busyTimeoutMs });
  try {
    for (const m of modules) store.migrate(m.name, m.migrations);
  } catch (e) {
    store.close();
    throw e;
  }
  return store;
}

export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const modules = opts.modules ?? allModules;
  const app: FastifyInstance = Fastify({
    logger: loggerOptions(config, opts.logStream),
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // a URL the router cannot take (bad percent-encoding, a parameter over maxParamLength) is answered
    // before any route or scope: core shape, as for an unknown path (Fastify's own body adds `code`)
    frameworkErrors: (err, req, reply: FastifyReply) => {
      const c = classify(err);
      logError(req, err, c);
      return reply.code(c.statusCode).type('application/json; charset=utf-8').send(coreShape(c));
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // shared core, visible to every module
  const store = openStore(config, modules);
  const metrics = new Metrics({ defaultMetrics: opts.defaultMetrics });
  const scheduler = new Scheduler(app.log, metrics);
  await app.register(
    fp(async (root) => {
      root.decorate('config', config);
      root.decorate('store', store);
      root.decorate('metrics', metrics);
      root.decorate('scheduler', scheduler);
      const sessions = new Sessions(() => config.admin.token, config.console.sessionHours * 3_600_000);
      root.decorate('sessions', sessions);
      root.decorate('requireAdmin', adminGuard(() => config.admin.token, sessions));
      root.addHook('onResponse', async (req, reply) => {
        const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
        metrics.httpRequests.inc(labels);
        metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
      });
      // JSON and text answers never need a page's powers; the console sets its own policy, /docs its own
      root.addHook('onSend', async (req, reply) => {
        if (!reply.hasHeader('content-security-policy') && !req.url.startsWith('/docs')) {
          reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
        }
      });
      const keepDays = config.store.notificationRetentionDays;
      if (keepDays !== null) {
        scheduler.register('core.notifications-retention', () => store.pruneNotifications(new Date(Date.now() - keepDays * 86_400_000)), {
          cron: '23 3 * * *',
        });
      }
      root.addHook('onReady', async () => {
        if (opts.startScheduler !== false) scheduler.start();
      });
      // while closing, drop keep-alive sockets as soon as their in-flight request is answered
      let idleSweep: NodeJS.Timeout | undefined;
      root.addHook('preClose', async () => {
        idleSweep = setInterval(() => root.server.closeIdleConnections?.(), 50);
        idleSweep.unref();
      });
      // runs after the modules' own onClose hooks: stop jobs, then close the database
      root.addHook('onClose', async () => {
        clearInterval(idleSweep);
        await scheduler.stop();
        store.close();
      });
    }, { name: 'fieldhub-core' }),
  );

  await app.register(swagger, {
    openapi: {
      info: { title: 'fieldhub', version: '0.1.0', description: 'NetAlertX sync, Control iD push, Conduit v6 and Patriot in one server' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', logLevel: 'warn' });

  installErrorFormat(app, coreShape);
  await app.register(opsRoutes);

  for (const m of modules) {
    if (config[m.name].enabled) await app.register(m.plugin);
  }
  if (config.console.enabled) await app.register(consolePlugin, { prefix: '/console' });
  return app;
}
