/** Conduit test helpers: an app with the real conduit module, users made through the real Users class. */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { conduitModule, type ConduitModuleOptions } from '../../../src/modules/conduit/index.js';
import type { Plan } from '../../../src/modules/conduit/plans.js';
import { TYPES } from '../../../src/modules/conduit/store-pg.js';
import { Users, type ConduitUser } from '../../../src/modules/conduit/users.js';
import { closesItself, makeApp, type TestApp } from '../../helpers/app.js';

export const T0 = 1_614_054_737; // the spec example's val_date

/** The spec's example datapoint, in the spec's field order. */
export const EXAMPLE = {
  val_date: 1614054737,
  dev_netid: '70B3D54990DC01DA',
  dev_chid: 1,
  val_raw: 4.091,
  val_type: 'Voltage',
  dev_tag: 'MIT-GW06 Pyalong Reserve',
  val_description: 'Battery Bank A',
  dev_site: 'Minnovation',
  val_cal: 0,
  val_offset: 0,
  dev_error: 0,
  dev_type: 'device',
  dev_label: 'Active',
  dev_category: 'Device',
  dev_powersource: 'Solar',
  dev_manufacturer: 'Minnovation',
  dev_supplier: 'Minnovation',
  dev_model: 'X1 Analog to Digital Sensor',
  dev_serial: '70B3D54990DC01DA',
  dev_network: 'The Things Network',
  loc_lat: 49.610711,
  loc_lng: 8.789063,
  val_calibrated: 4.091,
};

export interface ConduitApp extends TestApp {
  /** user changes on the app's store (SQLite: the Users class on the main connection; PostgreSQL: the write ops) */
  users: { update(name: string, patch: Parameters<Users['update']>[1]): Promise<ConduitUser> };
  /** creates a user with these sites and returns its token */
  user(
    name: string,
    sites: string[],
    opts?: { throttleSeconds?: number | null; httpApi?: boolean; plan?: Plan },
  ): Promise<string>;
  /** rows of a query on the app's store, either driver (write portable SQL; counts are numbers) */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** the first row of `sql` */
  one<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R | undefined>;
  /** rows in a table (conduit_datapoints by default) */
  count(table?: string): Promise<number>;
  req(opts: InjectOptions & { token?: string }): Promise<LightMyRequestResponse>;
  /** POST a JSON array with the token; throttle off for tokens made by user() unless given */
  ingest(token: string, points: unknown[]): Promise<LightMyRequestResponse>;
}

/**
 * An app with the conduit module (clock injectable), closed when the test finishes (closing it
 * earlier is allowed: the second close does nothing).
 */
export async function conduitApp(
  conduitConfig: Record<string, unknown> = {},
  opts: { dataDir?: string; store?: Record<string, unknown> } & ConduitModuleOptions = {},
): Promise<ConduitApp> {
  const { now, store, ...appOpts } = opts;
  const overrides = { conduit: conduitConfig, ...(store ? { store } : {}) };
  const t = await makeApp(overrides, { modules: [conduitModule({ now })], ...appOpts });
  const close = t.close.bind(t);
  let closed: Promise<void> | undefined;
  t.close = () => (closed ??= close());
  closesItself(t);
  const c = t as ConduitApp;
  const pg = t.app.pg;
  if (pg) {
    const write = async <T>(op: string, args: unknown) => (await t.app.writer.run<T>(op, args)).value;
    c.users = { update: (name, patch) => write('conduit.user.update', { name, patch }) };
    c.user = async (name, sites, o = {}) =>
      (
        await write<{ token: string }>('conduit.user.add', {
          name,
          sites,
          throttleSeconds: o.throttleSeconds === undefined ? 0 : o.throttleSeconds,
          httpApi: o.httpApi,
          plan: o.plan,
        })
      ).token;
    c.sql = async <R>(text: string, params: unknown[] = []) => {
      let n = 0; // SQLite's ? placeholders as $1, $2...
      const r = await pg.pool.query({ text: text.replace(/\?/g, () => `$${++n}`), values: params, types: TYPES });
      return r.rows as R[];
    };
  } else {
    const users = new Users(t.app.store.db);
    c.users = { update: async (name, patch) => users.update(name, patch) };
    c.user = async (name, sites, o = {}) =>
      users.add({
        name,
        sites,
        throttleSeconds: o.throttleSeconds === undefined ? 0 : o.throttleSeconds,
        httpApi: o.httpApi,
        plan: o.plan,
      }).token;
    c.sql = async <R>(text: string, params: unknown[] = []) => {
      const stmt = t.app.store.db.prepare(text);
      if (stmt.reader) return stmt.all(...params) as R[];
      stmt.run(...params);
      return [];
    };
  }
  c.one = async <R>(text: string, params?: unknown[]) => (await c.sql<R>(text, params))[0];
  c.count = async (table = 'conduit_datapoints') =>
    (await c.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!.n;
  c.req = ({ token, headers, ...rest }) =>
    t.app.inject({
      url: '/conduitv6',
      ...rest,
      headers: { ...(token ? { 'x-api-key': token } : {}), ...headers },
    } as InjectOptions);
  c.ingest = (token, points) =>
    c.req({ method: 'POST', token, payload: points, headers: { 'content-type': 'application/json' } });
  return c;
}

/** n datapoints of one device: channels 1..chs, one per minute from `from` */
export function series(netid: string, n: number, opts: { from?: number; chs?: number; site?: string } = {}) {
  const chs = opts.chs ?? 1;
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    out.push({
      dev_netid: netid,
      dev_chid: (i % chs) + 1,
      val_date: (opts.from ?? T0) + Math.floor(i / chs) * 60,
      val_raw: i / 10,
      ...(opts.site ? { dev_site: opts.site } : {}),
    });
  }
  return out;
}
