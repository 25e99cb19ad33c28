/**
 * /admin/patriot reads and actions for operators and the console: health (the tile), keys (never
 * the key itself), the clients of a key with their import state (paged), "send this client again".
 * The import runs and "run now" are in import/admin-routes.ts.
 */
import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import type { ZodApp } from '../../core/module.js';
import { pageFields } from '../../core/paging.js';
import type { Scheduler } from '../../core/scheduler.js';
import { IMPORT_JOB, type ImportService } from './import/index.js';
import { MAX_ID } from './schemas.js';
import type { PatriotService } from './service.js';

const tags = ['patriot'];
const keyParams = z.object({ keyName: z.string().min(1).max(200) });
// the API's client ids end at MAX_ID (INTEGER on PostgreSQL): a larger one is a 400 on both drivers, not a 500 there
const clientParams = z.object({
  keyName: z.string().min(1).max(200),
  clientId: z.coerce.number().int().min(0).max(MAX_ID),
});
const clientsQuery = z
  .object({
    q: z.string().max(200).optional(),
    status: z.enum(['changed', 'pending_import', 'imported', 'import_failed']).optional(),
    ...pageFields({ max: 1000, default: 100 }),
  })
  .strict();

export function patriotAdmin(svc: PatriotService, scheduler: Scheduler, unconfirmedHours: number) {
  const store = svc.store;
  return (admin: ZodApp, imports: ImportService) => {
    admin.get(
      '/health',
      {
        schema: {
          tags,
          summary:
            'green / amber / red with the reasons: import failures, unconfirmed and waiting clients, last and next run',
        },
      },
      async () => {
        const now = Date.now();
        const counts = await store.clientState.countByStatus();
        const clientsPerKey = await store.clientsPerKey();
        const unconfirmed = await store.clientState.unconfirmedBefore(new Date(now - unconfirmedHours * 3_600_000));
        const last = await imports.store.lastRun();
        const job = scheduler.list().find((j) => j.name === IMPORT_JOB);
        const reasons: string[] = [];
        let status: 'green' | 'amber' | 'red' = 'green';
        if (last?.result === 'failed') {
          status = 'red';
          reasons.push(`last import run failed: ${last.error ?? 'unknown error'}`);
        }
        if (counts.import_failed) {
          status = 'red';
          reasons.push(`${counts.import_failed} client(s) rejected by Patriot`);
        }
        if (unconfirmed) {
          if (status === 'green') status = 'amber';
          reasons.push(
            `${unconfirmed} client(s) uploaded but not confirmed by Patriot for more than ${unconfirmedHours} h`,
          );
        }
        if (counts.changed) reasons.push(`${counts.changed} client(s) changed, waiting for the next run`);
        if (!reasons.length)
          reasons.push(last ? `last run ${last.result} at ${last.finished_at}` : 'no import run yet');
        return {
          module: 'patriot',
          status,
          reasons,
          counts: { keys: svc.keys.list().length, clientsPerKey, state: counts, unconfirmed },
          lastRun: last ?? null,
          nextRunAt: job?.next ?? null,
          running: job?.running ?? false,
        };
      },
    );

    admin.get(
      '/keys',
      {
        schema: {
          tags,
          summary: 'The API keys of keys.json (name, enabled, valid to, port, installer; never the key)',
        },
      },
      async () => {
        const perKey = await store.clientsPerKey();
        const now = Date.now();
        return {
          keys: svc.keys.list().map((k) => ({
            keyName: k.key_name,
            enabled: k.enabled,
            validTo: k.valid_to ?? null,
            expired: k.validToMs !== null && k.validToMs <= now,
            port: k.port,
            installerName: k.installer_name,
            installerEmail: k.installer_email,
            clients: perKey[k.key_name] ?? 0,
          })),
        };
      },
    );

    admin.get(
      '/keys/:keyName/clients',
      {
        schema: {
          tags,
          summary: "A key's clients with their import state, paged (q searches id and name)",
          params: keyParams,
          querystring: clientsQuery,
        },
      },
      async (req) => {
        const { total, items } = await store.clientsPage(req.params.keyName, req.query, req.query);
        return { total, clients: items };
      },
    );

    admin.post(
      '/keys/:keyName/clients/:clientId/resend',
      {
        schema: {
          tags,
          summary: 'Send this client again: rewrite its XML and mark it changed for the next import run',
          params: clientParams,
        },
      },
      async (req) => {
        const { keyName, clientId } = req.params;
        if (!svc.keys.get(keyName)) throw new HttpError(404, `no key ${keyName}`);
        const written = await svc.writeClientXml(keyName, clientId);
        if (!written) throw new HttpError(404, `no client ${clientId} under ${keyName}`);
        return { keyName, clientId, status: 'changed' };
      },
    );
  };
}
