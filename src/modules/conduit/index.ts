/**
 * The conduit module: a Conduit HTTP API v6 telemetry store and query service at /conduitv6, the
 * AlphaX uplink forms (V1/V2 at /conduitv6, the V4 webhook at /conduitv4/post), per-user plans,
 * its operator API at /admin/conduit, `fieldhub conduit user ...`, and datapoint retention.
 */
import { registerAdmin } from '../../core/admin.js';
import { defineModule, moduleFile, type FieldhubModule } from '../../core/module.js';
import { adminRoutes } from './admin-routes.js';
import { commands } from './cli.js';
import { conduitConfig } from './config.js';
import { migrations } from './migrations.js';
import { migrationsPg } from './migrations-pg.js';
import { retentionJob } from './retention.js';
import { conduitRoutes, PREFIX, V4_PREFIX, webhookRoutes } from './routes.js';
import { ConduitService } from './service.js';
import { sqliteReads } from './store.js';
import { ConduitReadsPg } from './store-pg.js';

export interface ConduitModuleOptions {
  /** the clock in ms (plans' windows, receipt time, default ranges); tests inject one */
  now?: () => number;
}

export function conduitModule(opts: ConduitModuleOptions = {}): FieldhubModule {
  return defineModule({
    name: 'conduit',
    config: conduitConfig,
    migrations,
    migrationsPg,
    commands,
    writes: moduleFile(import.meta.url, 'writes'),
    writesPg: moduleFile(import.meta.url, 'writes-pg'),
    plugin: async (app) => {
      const config = app.config.conduit;
      // the reads by driver (store.ts): SQLite's prepared statements, or the PostgreSQL pool
      const reads = app.pg ? new ConduitReadsPg(app.pg) : sqliteReads(app.store.db);
      const svc = new ConduitService({ config, writer: app.writer, reads, metrics: app.metrics, now: opts.now });
      const retention = retentionJob((before, batch) => svc.write('conduit.prune', { before, batch }), config, app.log);
      app.scheduler.register(
        'conduit.retention',
        retention,
        config.retentionDays ? { cron: config.retentionCron } : {},
      );
      await app.register(conduitRoutes(svc, config.maxBodyBytes, config.emptyStatus), { prefix: PREFIX });
      await app.register(webhookRoutes(svc, config.maxBodyBytes), { prefix: V4_PREFIX });
      const admin = adminRoutes({
        reads,
        svc,
        silentMinutes: config.silentMinutes,
        runRetention: () => app.scheduler.run('conduit.retention'),
      });
      await registerAdmin(app, '/admin/conduit', admin);
    },
  });
}

export default conduitModule();
