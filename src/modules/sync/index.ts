/**
 * The sync module: NetAlertX-compatible /sync hub and node (see docs/sync.md).
 * Routes under /sync, admin triggers under /admin/sync, jobs `sync.pull` and `sync.push`.
 */
import { registerAdmin } from '../../core/admin.js';
import { syncReadRoutes } from './admin-routes.js';
import { SyncAdminStore } from './admin-store.js';
import { SyncAdminStorePg } from './admin-store-pg.js';
import { PeerStatus } from './peer-status.js';
import { defineModule, moduleFile } from '../../core/module.js';
import { syncConfig } from './config.js';
import { commands } from './cli.js';
import { migrations } from './migrations.js';
import { migrationsPg } from './migrations-pg.js';
import { copyPayloadFilesToPg, verifyPayloadFilesPg } from './payloads-pg.js';
import { syncRoutes } from './routes.js';
import { nodeNameProblem } from './names.js';
import { SyncHub } from './service.js';
import { SyncPeers } from './peers.js';

export default defineModule({
  name: 'sync',
  config: syncConfig,
  migrations,
  migrationsPg,
  commands,
  // every sync write of the server runs on the core writer thread (group commit): writes.ts;
  // on PostgreSQL the same ops in writes-pg.ts (core's PgWriter)
  writes: moduleFile(import.meta.url, 'writes'),
  writesPg: moduleFile(import.meta.url, 'writes-pg'),
  // migrate-to-postgres: the payload files under log/plugins into sync_payloads
  copyFilesToPg: copyPayloadFilesToPg,
  verifyFilesPg: verifyPayloadFilesPg,
  plugin: async (app) => {
    const cfg = app.config.sync;
    const log = app.log.child({ module: 'sync' });
    const nameProblem = nodeNameProblem(cfg.nodeName);
    if (nameProblem) log.warn(`sync.nodeName ${nameProblem}: hubs refuse such a node_name`);
    if (!cfg.apiToken) log.warn('sync.apiToken is not configured: every /sync request is refused');
    const hub = new SyncHub({
      config: cfg,
      dataDir: app.config.dataDir,
      store: app.pg ? null : app.store,
      pg: app.pg,
      writer: app.writer,
      metrics: app.metrics,
      log,
    });
    const peers = new SyncPeers(cfg, hub, log);
    await app.register(async (scope) => syncRoutes(scope, hub), { prefix: '/sync' });

    const status = new PeerStatus();
    const pull = async (signal: AbortSignal) => {
      const r = await peers.pull(signal);
      status.recordPull(r);
      return r;
    };
    const push = async (signal: AbortSignal) => {
      const r = await peers.push(signal);
      if (r && cfg.hubUrl) status.record(cfg.hubUrl, 'hub', r);
      return r;
    };
    app.scheduler.register('sync.pull', pull, cfg.pullNodes.length ? { cron: cfg.pullCron } : {});
    app.scheduler.register('sync.push', push, cfg.hubUrl ? { cron: cfg.pushCron } : {});

    const reads = syncReadRoutes(
      app.pg ? new SyncAdminStorePg(app.pg) : new SyncAdminStore(app.store.db),
      status,
      { pullNodes: cfg.pullNodes, hubUrl: cfg.hubUrl, staleMinutes: cfg.staleMinutes },
      hub.write,
    );
    await registerAdmin(app, '/admin/sync', (admin) => {
      reads(admin);
      admin.post('/pull', { schema: { summary: 'Run the pull job now', tags: ['sync'] } }, async () =>
        app.scheduler.run('sync.pull'),
      );
      admin.post('/push', { schema: { summary: 'Run the push job now', tags: ['sync'] } }, async () =>
        app.scheduler.run('sync.push'),
      );
      admin.post(
        '/retry',
        { schema: { summary: 'Queue the failed payloads again and process them', tags: ['sync'] } },
        async () => {
          const requeued = await hub.requeueFailed();
          hub.kick();
          await hub.idle();
          return { requeued };
        },
      );
      admin.post(
        '/process',
        { schema: { summary: 'Process stored payloads now and wait for the queue to empty', tags: ['sync'] } },
        async () => {
          hub.kick();
          await hub.idle();
          return { pending: (await hub.db.pendingRows(1000)).length };
        },
      );
    });

    // anything left by a previous run is processed at start-up
    app.addHook('onReady', async () => {
      await hub.tidyAfterCrash();
      hub.kick();
    });
    app.addHook('onClose', async () => hub.close());
  },
});
