/**
 * The conduit module: a Conduit HTTP API v6 telemetry store and query service at /conduitv6,
 * its operator API at /admin/conduit, `fieldhub conduit user ...`, and datapoint retention.
 */
import { registerAdmin } from '../../core/admin.js';
import { defineModule } from '../../core/module.js';
import { conduitConfig } from './config.js';
import { adminRoutes } from './admin.js';
import { healthRoutes } from './admin-health.js';
import { commands } from './cli.js';
import { migrations } from './migrations.js';
import { retentionJob } from './retention.js';
import { conduitApi, PREFIX } from './routes.js';
import { ConduitQuery } from './query.js';
import { ConduitStore } from './store.js';
import { Throttle } from './throttle.js';
import { Users } from './users.js';

export default defineModule({
  name: 'conduit',
  config: conduitConfig,
  migrations,
  commands,
  plugin: async (app) => {
    const config = app.config.conduit;
    const store = new ConduitStore(app.store.db);
    const users = new Users(app.store.db);
    const retention = retentionJob(store, config, app.log);
    app.scheduler.register('conduit.retention', retention, config.retentionDays ? { cron: config.retentionCron } : {});
    await app.register(
      conduitApi({
        config,
        store,
        query: new ConduitQuery(app.store.db),
        users,
        throttle: new Throttle(),
        metrics: app.metrics,
        db: app.store.db,
      }),
      { prefix: PREFIX },
    );
    const userRoutes = adminRoutes(users, () => app.scheduler.run('conduit.retention'));
    const readRoutes = healthRoutes(app.store.db, app.config.conduit.silentMinutes);
    await registerAdmin(app, '/admin/conduit', async (admin) => {
      await userRoutes(admin);
      await readRoutes(admin);
    });
  },
});
