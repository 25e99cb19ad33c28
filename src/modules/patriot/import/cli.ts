/** The import pipeline's CLI commands. */
import type { CliCommand } from '../../../core/module.js';
import type { ImportHooks } from './context.js';
import { ImportService } from './service.js';

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
        const pg = ctx.pg;
        const service = new ImportService({
          config: ctx.config,
          ...(pg ? { pg } : { db: ctx.store.db }),
          notify: (level, text) =>
            pg
              ? void pg.notify('patriot', level, text).catch((err: unknown) => ctx.log.error({ err }, 'notify failed'))
              : ctx.store.notify('patriot', level, text),
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
