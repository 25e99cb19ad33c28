/**
 * The import pipeline of the patriot module as a plugin and CLI commands: the hourly combine of
 * per-client XML files and the upload of clients.xml to the Patriot share.
 */
import type { FastifyInstance } from 'fastify';
import { registerAdmin } from '../../../core/admin.js';
import type { CliCommand, ZodApp } from '../../../core/module.js';
import { importRoutes, IMPORT_JOB } from './routes.js';
import { ImportService, type ImportDeps } from './service.js';

export { IMPORT_MIGRATION } from './migrations.js';
export { ImportService, type RunReport } from './service.js';
export { IMPORT_JOB } from './routes.js';

export type ImportHooks = Pick<ImportDeps, 'regenerate' | 'resolveId'>;

/**
 * Registers the import job (cron from patriot.import.cron) and the admin routes (with `moreAdmin`,
 * the module's other /admin/patriot routes: one scope per prefix). Returns the service.
 */
export async function registerImport(
  app: FastifyInstance,
  hooks: ImportHooks = {},
  moreAdmin?: (admin: ZodApp) => void,
): Promise<ImportService> {
  const log = app.log.child({ module: 'patriot', part: 'import' });
  const service = new ImportService({
    config: app.config,
    db: app.store.db,
    notify: (level, text) => app.store.notify('patriot', level, text),
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
    moreAdmin?.(admin);
  });
  return service;
}

/** `fieldhub patriot combine --once`: one run now, its result as JSON; exit 0 unless it failed. */
export function importCommands(
  hooks: (ctx: Parameters<CliCommand['run']>[1]) => ImportHooks = () => ({}),
): Record<string, CliCommand> {
  return {
    combine: {
      usage: '--once',
      summary: 'combine the per-client XML files and upload clients.xml now (one run)',
      async run(args, ctx) {
        if (args.length !== 1 || args[0] !== '--once') {
          ctx.out('usage: fieldhub patriot combine --once   (the hourly schedule runs inside `fieldhub serve`)');
          return 2;
        }
        const service = new ImportService({
          config: ctx.config,
          db: ctx.store.db,
          notify: (level, text) => ctx.store.notify('patriot', level, text),
          log: ctx.log,
          ...hooks(ctx),
        });
        const report = await service.run('cli');
        ctx.out(JSON.stringify(report, null, 2));
        return report.result === 'failed' ? 1 : 0;
      },
    },
  };
}
