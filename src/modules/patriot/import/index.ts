/**
 * The import pipeline of the patriot module as a plugin and CLI commands: the hourly combine of
 * per-client XML files and the upload of clients.xml to the Patriot share.
 */
import type { FastifyInstance } from 'fastify';
import { registerAdmin } from '../../../core/admin.js';
import type { ZodApp } from '../../../core/module.js';
import { importRoutes, IMPORT_JOB } from './admin-routes.js';
import type { ImportHooks } from './context.js';
import { ImportService } from './service.js';

export { IMPORT_MIGRATION } from './migrations.js';
export { ImportService, type RunReport } from './service.js';
export { IMPORT_JOB } from './admin-routes.js';
export { importCommands } from './cli.js';

export type { ImportHooks } from './context.js';

/** Core notifications on either driver; a failure to record one is logged, never thrown into a run. */
function notifier(app: FastifyInstance) {
  return (level: 'info' | 'alert', text: string): Promise<void> =>
    (app.pg ? app.pg.notify('patriot', level, text) : Promise.resolve(app.store.notify('patriot', level, text))).catch(
      (err: unknown) => app.log.error({ err }, 'patriot: recording a notification failed'),
    );
}

/**
 * Registers the import job (cron from patriot.import.cron) and the admin routes (with `moreAdmin`,
 * the module's other /admin/patriot routes: one scope per prefix). Returns the service.
 */
export async function registerImport(
  app: FastifyInstance,
  hooks: ImportHooks = {},
  moreAdmin?: (admin: ZodApp, service: ImportService) => void,
): Promise<ImportService> {
  const log = app.log.child({ module: 'patriot', part: 'import' });
  const service = new ImportService({
    config: app.config,
    ...(app.pg ? { pg: app.pg } : { db: app.store.db }),
    notify: (level, text) => void notifier(app)(level, text),
    log,
    metrics: app.metrics,
    ...hooks,
  });
  // an on-demand run passes its trigger as the job's context; a scheduled run passes none
  const job = (_signal: AbortSignal, trigger?: unknown) => service.run(trigger === 'admin' ? 'admin' : 'schedule');
  app.scheduler.register(IMPORT_JOB, job, { cron: app.config.patriot.import.cron });
  app.addHook('onReady', async () => {
    const smb = app.config.patriot.smb;
    if (smb.enabled && smb.transport === 'smbclient' && (!smb.host || !smb.share || !smb.username)) {
      log.warn(
        'patriot.smb is enabled but host, share or username is missing: every import run will fail until they are set',
      );
    } else if (smb.enabled && smb.transport === 'directory' && !smb.directory) {
      log.warn(
        'patriot.smb.transport is directory but patriot.smb.directory is not set: every import run will fail until it is',
      );
    } else if (!smb.enabled) {
      log.info(
        'patriot.smb is disabled: import runs write ready_for_import/clients.xml locally and keep the per-client files',
      );
    }
    await service.start();
  });
  const routes = importRoutes(service);
  await registerAdmin(app, '/admin/patriot', async (admin) => {
    await routes(admin);
    moreAdmin?.(admin, service);
  });
  return service;
}
