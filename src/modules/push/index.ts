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
import { PushService } from './service.js';
import { PushStore } from './store.js';

export default defineModule({
  name: 'push',
  config: pushConfig,
  migrations,
  commands,
  // every push write runs on the core writer thread (group commit): writes.ts
  writes: moduleFile(import.meta.url, 'writes'),
  plugin: async (app) => {
    const svc = new PushService(
      new PushStore(app.store.db),
      app.writer,
      app.config.push,
      app.log.child({ module: 'push' }),
      app.metrics,
    );
    svc.start();
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
