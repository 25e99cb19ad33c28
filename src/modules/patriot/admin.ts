/**
 * /admin/patriot reads and actions for operators and the console: health (the tile), keys (never
 * the key itself), the clients of a key with their import state (paged), "send this client again".
 * The import runs and "run now" are in import/routes.ts.
 */
import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import type { ZodApp } from '../../core/module.js';
import { pageFields, pageFromSql } from '../../core/paging.js';
import type { Scheduler } from '../../core/scheduler.js';
import { IMPORT_JOB } from './import/index.js';
import type { PatriotService } from './service.js';

const tags = ['patriot'];
const keyParams = z.object({ keyName: z.string().min(1).max(200) });
const clientParams = z.object({ keyName: z.string().min(1).max(200), clientId: z.coerce.number().int().min(0) });
const clientsQuery = z
  .object({
    q: z.string().max(200).optional(),
    status: z.enum(['changed', 'pending_import', 'imported', 'import_failed']).optional(),
    ...pageFields({ max: 1000, default: 100 }),
  })
  .strict();

export function patriotAdmin(svc: PatriotService, scheduler: Scheduler, unconfirmedHours: number) {
  const db = svc.store.db;
  const s = {
    perKey: db.prepare('SELECT key_name, COUNT(*) AS n FROM patriot_clients GROUP BY key_name'),
    byStatus: db.prepare('SELECT status, COUNT(*) AS n FROM patriot_client_state GROUP BY status'),
    unconfirmed: db
      .prepare("SELECT COUNT(*) FROM patriot_client_state WHERE status = 'pending_import' AND updated_at < ?")
      .pluck(),
    lastRun: db.prepare(
      "SELECT run_id, trigger, started_at, finished_at, result, clients, error FROM patriot_import_runs WHERE result <> 'running' ORDER BY id DESC LIMIT 1",
    ),
    clients: db.prepare(
      `SELECT c.client_id AS clientId, json_extract(c.info, '$.Name') AS name, c.updated_at AS updatedAt,
              s.status, s.last_batch AS lastBatch, s.attempts
         FROM patriot_clients c LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id
        WHERE c.key_name = @key AND (@status IS NULL OR s.status = @status)
          AND (@q IS NULL OR instr(CAST(c.client_id AS TEXT), @q) > 0 OR instr(COALESCE(json_extract(c.info, '$.Name'), ''), @q) > 0)
        ORDER BY c.client_id LIMIT @limit OFFSET @offset`,
    ),
    // without a filter: count and page on the primary key range alone, the state joined to the 50 rows only
    countAll: db.prepare('SELECT COUNT(*) FROM patriot_clients WHERE key_name = @key').pluck(),
    pageAll: db.prepare(
      `SELECT c.client_id AS clientId, json_extract(c.info, '$.Name') AS name, c.updated_at AS updatedAt,
              s.status, s.last_batch AS lastBatch, s.attempts
         FROM (SELECT key_name, client_id, info, updated_at FROM patriot_clients WHERE key_name = @key ORDER BY client_id LIMIT @limit OFFSET @offset) c
         LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id ORDER BY c.client_id`,
    ),
    count: db
      .prepare(
        `SELECT COUNT(*) FROM patriot_clients c LEFT JOIN patriot_client_state s ON s.key_name = c.key_name AND s.client_id = c.client_id
        WHERE c.key_name = @key AND (@status IS NULL OR s.status = @status)
          AND (@q IS NULL OR instr(CAST(c.client_id AS TEXT), @q) > 0 OR instr(COALESCE(json_extract(c.info, '$.Name'), ''), @q) > 0)`,
      )
      .pluck(),
  };

  return (admin: ZodApp) => {
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
        const counts = Object.fromEntries(
          (s.byStatus.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n]),
        );
        const clientsPerKey = Object.fromEntries(
          (s.perKey.all() as Array<{ key_name: string; n: number }>).map((r) => [r.key_name, r.n]),
        );
        const unconfirmed = s.unconfirmed.get(new Date(now - unconfirmedHours * 3_600_000).toISOString()) as number;
        const last = s.lastRun.get() as { result: string; error: string | null; finished_at: string } | undefined;
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
        const perKey = Object.fromEntries(
          (s.perKey.all() as Array<{ key_name: string; n: number }>).map((r) => [r.key_name, r.n]),
        );
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
        const { status, q } = req.query;
        const { total, items } =
          status === undefined && q === undefined
            ? pageFromSql(s.countAll, s.pageAll, { key: req.params.keyName }, req.query)
            : pageFromSql(
                s.count,
                s.clients,
                { key: req.params.keyName, status: status ?? null, q: q ?? null },
                req.query,
              );
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
