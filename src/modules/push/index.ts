/**
 * The push module: Control iD devices poll GET /push for commands and report on POST /result;
 * operators queue commands and read results under /admin/push. See docs/push.md.
 */
import { registerAdmin } from '../../core/admin.js';
import { defineModule, moduleFile } from '../../core/module.js';
import { pushConfig } from './config.js';
import { adminRoutes } from './admin-routes.js';
import { commands } from './cli.js';
import { deviceRoutes } from './routes.js';
import { migrations } from './migrations.js';
import { migrationsPg } from './migrations-pg.js';
import { PgQueueFeed } from './queue-feed-pg.js';
import { PushService } from './service.js';
import { PushStore } from './store.js';
import { PushStorePg } from './store-pg.js';

export default defineModule({
  name: 'push',
  config: pushConfig,
  migrations,
  migrationsPg,
  commands,
  // every push write runs on the core writer thread (group commit): writes.ts; on PostgreSQL writes-pg.ts
  writes: moduleFile(import.meta.url, 'writes'),
  writesPg: moduleFile(import.meta.url, 'writes-pg'),
  plugin: async (app) => {
    const log = app.log.child({ module: 'push' });
    let svc: PushService;
    if (app.pg) {
      // several replicas: the index follows the database (LISTEN/NOTIFY), docs/push.md
      const store = new PushStorePg(app.pg);
      svc = new PushService(store, app.writer, app.config.push, log, app.metrics, new PgQueueFeed(app.pg, store, log));
    } else {
      svc = new PushService(new PushStore(app.store.db), app.writer, app.config.push, log, app.metrics);
    }
    await svc.start();
    // the writer thread starts while the rest of the app is built; the app is ready once it runs
    const writerStarted = svc.ready();
    app.addHook('onReady', async () => writerStarted);
    app.addHook('preClose', async () => svc.releaseWaiters());
    app.addHook('onClose', async () => svc.close());
    // the device appends /push and /result to the path of its push_remote_address: one scope per prefix
    for (const prefix of app.config.push.basePaths) await app.register(deviceRoutes(svc), { prefix });
    await registerAdmin(app, '/admin/push', (admin) => adminRoutes(admin, svc, app.config.push.offlinePolls));
  },
});
