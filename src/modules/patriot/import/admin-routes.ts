/** Operator routes under /admin/patriot (admin token, core error shape). */
import { HttpError } from '../../../core/errors.js';
import type { ZodApp } from '../../../core/module.js';
import { runsQuery, stateQuery } from './schemas.js';
import type { ImportService, RunReport } from './service.js';

export const IMPORT_JOB = 'patriot.import';

export function importRoutes(service: ImportService) {
  return async (admin: ZodApp): Promise<void> => {
    admin.post(
      '/import-runs',
      { schema: { summary: 'Run the Patriot combine + upload now and answer with its result', tags: ['patriot'] } },
      async (req) => {
        const r = await req.server.scheduler.run(IMPORT_JOB, 'admin');
        if (!r.ok) throw new HttpError(/in progress/.test(r.error ?? '') ? 409 : 500, r.error ?? 'import run failed');
        return { skipped: Boolean(r.skipped), run: r.value as RunReport };
      },
    );
    admin.get(
      '/import-runs',
      { schema: { summary: 'Recent Patriot import runs, newest first', tags: ['patriot'], querystring: runsQuery } },
      async (req) => ({ runs: await service.store.listRuns(req.query.limit) }),
    );
    admin.get(
      '/import-state',
      {
        schema: {
          summary: 'Import state per client (status, last batch, attempts)',
          tags: ['patriot'],
          querystring: stateQuery,
        },
      },
      async (req) => {
        const q = req.query;
        const page = await service.store.clients.list({
          status: q.status,
          keyName: q.key_name,
          id: q.id,
          limit: q.limit,
          offset: q.offset,
        });
        return { total: page.total, counts: await service.store.clients.countByStatus(), items: page.items };
      },
    );
  };
}
