/**
 * The patriot module: the client registry API (routes.ts) and its per-client XML (service.ts),
 * and the import pipeline to Patriot (import/: hourly combine and SMB upload).
 * The shared PatriotService (keys registry, store, writeClientXml) is decorated on this plugin's
 * scope as `patriot`, so a sibling plugin registered here (the importer) reaches it as app.patriot.
 */
import type { FastifyInstance } from 'fastify';
import { defineModule, moduleFile } from '../../core/module.js';
import { patriotConfig } from './config.js';
import { exportXml, importJson } from './cli.js';
import { importCommands, registerImport, type ImportHooks } from './import/index.js';
import { migrations } from './migrations.js';
import { migrationsPg } from './migrations-pg.js';
import { copyXmlFilesToPg, verifyXmlFilesPg, xmlDirOf } from './xml-export.js';
import { patriotAdmin } from './admin-routes.js';
import { patriotRoutes, requestLogFile } from './routes.js';
import { PatriotService } from './service.js';
import { writerWrites } from './writes.js';

export { PatriotService } from './service.js';
export type { ApiKey, KeysRegistry } from './keys.js';

declare module 'fastify' {
  interface FastifyInstance {
    patriot: PatriotService;
  }
}

/** What the importer needs from the API: regeneration of a failed client, and `__id` -> client. */
export function importHooks(svc: () => PatriotService): ImportHooks {
  return {
    // the state row stays import_failed (set by the results check) until the next batch carries it
    regenerate: (keyName, clientId) => svc().writeClientXml(keyName, clientId, { marked: true }),
    resolveId: (xmlId) => {
      const m = /^([0-9]+)(.+)$/.exec(xmlId);
      const key = m ? svc().keys.getByPort(m[2]!) : undefined;
      return key ? { key_name: key.key_name, client_id: Number(m![1]) } : undefined;
    },
  };
}

export default defineModule({
  name: 'patriot',
  config: patriotConfig,
  migrations,
  migrationsPg,
  // every write to patriot's tables runs on the core writer thread (writes.ts), group-committed
  writes: moduleFile(import.meta.url, 'writes'),
  // on PostgreSQL the same ops, each in its transaction; the per-client XML is written by the change's own (writes-pg.ts)
  writesPg: moduleFile(import.meta.url, 'writes-pg'),
  // migrate-to-postgres: the per-client XML files of the default XML dir (<dataDir>/out/clients) into patriot_client_xml
  copyFilesToPg: (dataDir, pg) => copyXmlFilesToPg(xmlDirOf(dataDir), pg),
  verifyFilesPg: (pg) => verifyXmlFilesPg(pg),
  plugin: async (app: FastifyInstance) => {
    const write = writerWrites(app.writer);
    const svc = new PatriotService(app.config, app.pg ?? app.store.db, app.log, { write });
    app.decorate('patriot', svc);
    app.addHook('onClose', () => svc.close());
    const cfg = app.config.patriot;
    await app.register(patriotRoutes(svc, requestLogFile(app.config.dataDir), cfg.bodyLimitBytes), {
      prefix: '/clients',
      logLevel: 'warn',
    });
    await registerImport(
      app,
      { ...importHooks(() => svc), write },
      patriotAdmin(svc, app.scheduler, cfg.unconfirmedHours),
    );
    // after the importer's start-up recovery (its onReady hook is registered above, so it runs first)
    app.addHook('onReady', async () => void (await svc.repairAfterCrash()));
  },
  commands: {
    'import-json': importJson,
    'export-xml': exportXml,
    // the CLI builds the API's service only when a failed client has to be regenerated
    ...importCommands((ctx) => {
      let svc: PatriotService | undefined;
      return importHooks(
        () => (svc ??= new PatriotService(ctx.config, ctx.pg ?? ctx.store.db, ctx.log, { watchKeys: false })),
      );
    }),
  },
});
