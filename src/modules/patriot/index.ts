/**
 * The patriot module: the client registry API (routes.ts) and its per-client XML (service.ts).
 * The shared PatriotService (keys registry, store, writeClientXml) is decorated on this plugin's
 * scope as `patriot`, so a sibling plugin registered here (the importer) reaches it as app.patriot.
 */
import type { FastifyInstance } from 'fastify';
import { defineModule } from '../../core/module.js';
import { importJson } from './import-json.js';
import { migrations } from './migrations.js';
import { patriotRoutes, requestLogFile } from './routes.js';
import { PatriotService } from './service.js';

export { PatriotService } from './service.js';
export type { ApiKey, KeysRegistry } from './keys.js';

declare module 'fastify' {
  interface FastifyInstance {
    patriot: PatriotService;
  }
}

export default defineModule({
  name: 'patriot',
  migrations,
  plugin: async (app: FastifyInstance) => {
    const svc = new PatriotService(app.config, app.store.db, app.log);
    app.decorate('patriot', svc);
    app.addHook('onClose', () => svc.close());
    const cfg = app.config.patriot;
    await app.register(patriotRoutes(svc, requestLogFile(app.config.dataDir), cfg.bodyLimitBytes), { prefix: '/clients', logLevel: 'warn' });
  },
  commands: { 'import-json': importJson },
});
