/** Operator-side helpers for the push tests (the admin API over the real socket). */
import type { FastifyInstance } from 'fastify';
import { openStores } from '../../../src/app.js';
import type { Config } from '../../../src/config.js';
import { q } from '../../../src/modules/push/store-pg.js';
import { ADMIN } from '../../helpers/app.js';
import { http } from './sim.js';

export function enqueue(base: string, deviceId: string, cmd: Record<string, unknown>) {
  return http(`${base}/admin/push/devices/${deviceId}/commands`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify(cmd),
  });
}

export async function enqueueOk(base: string, deviceId: string, cmd: Record<string, unknown>): Promise<string> {
  const r = await enqueue(base, deviceId, cmd);
  if (r.status !== 201) throw new Error(`enqueue: ${r.status} ${r.text}`);
  return (JSON.parse(r.text) as { id: string }).id;
}

export async function command(
  base: string,
  id: string,
  query = '',
): Promise<Record<string, unknown> & { status: string }> {
  const r = await http(`${base}/admin/push/commands/${id}${query}`, { headers: ADMIN });
  if (r.status !== 200) throw new Error(`command ${id}: ${r.status} ${r.text}`);
  return JSON.parse(r.text) as Record<string, unknown> & { status: string };
}

/**
 * The rows of a query on the app's store, on either driver: SQLite's prepared statement, or the
 * PostgreSQL pool (`?` placeholders become `$n`; BIGINT and COUNT read as numbers, as in SQLite).
 */
export async function rows(
  app: FastifyInstance,
  sql: string,
  ...args: unknown[]
): Promise<Array<Record<string, unknown>>> {
  if (app.pg) {
    let n = 0;
    return (
      await q(
        app.pg.pool,
        sql.replace(/\?/g, () => `$${++n}`),
        args,
      )
    ).rows;
  }
  return app.store.db.prepare(sql).all(...args) as Array<Record<string, unknown>>;
}

/** The first row of `rows` (undefined when none). */
export async function row(
  app: FastifyInstance,
  sql: string,
  ...args: unknown[]
): Promise<Record<string, unknown> | undefined> {
  return (await rows(app, sql, ...args))[0];
}

/** The rows of a query on the store of `config` once its app is closed (the store opened again, either driver). */
export async function rowsOfStore(config: Config, sql: string): Promise<Array<Record<string, unknown>>> {
  const stores = await openStores(config);
  try {
    if (stores.pg) return (await q(stores.pg.pool, sql)).rows;
    return stores.store!.db.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    await stores.close();
  }
}
