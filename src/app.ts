/**
 * Builds the fieldhub Fastify app from a validated config. It never listens (src/main.ts does).
 * Reading this file gives the start-up order: external plugins, shared core, ops routes, modules.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { ConfigError, type Config } from './core/config.js';
import { Store } from './core/db.js';
import { answerFrameworkError, coreShape, installErrorFormat } from './core/errors.js';
import { loggerOptions } from './core/logger.js';
import { Metrics } from './core/metrics.js';
import type { FieldhubModule } from './core/module.js';
import { opsRoutes } from './core/ops.js';
import { PgStore } from './core/pg.js';
import { corePlugin } from './core/plugin.js';
import { Scheduler } from './core/scheduler.js';
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

/** Migrates every module's tables (also for disabled modules, so that CLI commands and re-enabling work). */
export function openStore(config: Config, modules: readonly FieldhubModule[] = allModules): Store {
  const store = new Store({
    dataDir: config.dataDir,
    synchronous: config.store.synchronous,
    busyTimeoutMs: config.store.busyTimeoutMs,
  });
  try {
    for (const m of modules) store.migrate(m.name, m.migrations);
  } catch (e) {
    store.close();
    throw e;
  }
  return store;
}

/** The open store of either driver: `store` on "sqlite", `pg` on "postgres". */
export interface Stores {
  store: Store | null;
  pg: PgStore | null;
  close(): Promise<void>;
}

/**
 * Opens the configured driver's store and migrates every module's tables there. On "postgres" a
 * module that is enabled but has no PostgreSQL migrations refuses to start (ConfigError).
 */
export async function openStores(
  config: Config,
  modules: readonly FieldhubModule[] = allModules,
  onError?: (err: Error) => void,
): Promise<Stores> {
  if (config.store.driver === 'sqlite') {
    const store = openStore(config, modules);
    return { store, pg: null, close: async () => store.close() };
  }
  const missing = modules.filter((m) => config[m.name].enabled && !m.migrationsPg).map((m) => m.name);
  if (missing.length)
    throw new ConfigError(
      `invalid config: store.driver "postgres" is not available for ${missing.join(', ')} (disable ${missing.length > 1 ? 'them' : 'it'} or use "sqlite")`,
    );
  const pg = await PgStore.open({
    url: config.store.url!,
    max: config.store.pool.max,
    connectionTimeoutMs: config.store.pool.connectionTimeoutMs,
    statementTimeoutMs: config.store.pool.statementTimeoutMs,
    onError,
  });
  try {
    for (const m of modules) if (m.migrationsPg) await pg.migrate(m.name, m.migrationsPg);
  } catch (e) {
    await pg.close();
    throw e;
  }
  return { store: null, pg, close: () => pg.close() };
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
    frameworkErrors: answerFrameworkError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // shared core, visible to every module
  const stores = await openStores(config, modules, (err) => app.log.error({ err }, 'database connection lost'));
  const metrics = new Metrics({ defaultMetrics: opts.defaultMetrics });
  const scheduler = new Scheduler(app.log, metrics);
  const enabled = modules.filter((m) => config[m.name].enabled);
  const writes = enabled.flatMap((m) => (m.writes ? [m.writes] : []));
  const writesPg = enabled.flatMap((m) => (m.writesPg ? [m.writesPg] : []));
  await app.register(corePlugin, {
    config,
    stores,
    metrics,
    scheduler,
    startScheduler: opts.startScheduler,
    writes,
    writesPg,
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'fieldhub',
        version: '0.1.0',
        description: 'NetAlertX sync, Control iD push, Conduit v6 and Patriot in one server',
      },
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
