/** Conduit test helpers: an app with the real conduit module, users made through the real Users class. */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { conduitModule, type ConduitModuleOptions } from '../../../src/modules/conduit/index.js';
import type { Plan } from '../../../src/modules/conduit/plans.js';
import { Users } from '../../../src/modules/conduit/users.js';
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
  users: Users;
  /** creates a user with these sites and returns its token */
  user(
    name: string,
    sites: string[],
    opts?: { throttleSeconds?: number | null; httpApi?: boolean; plan?: Plan },
  ): string;
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
  opts: { dataDir?: string } & ConduitModuleOptions = {},
): Promise<ConduitApp> {
  const { now, ...appOpts } = opts;
  const t = await makeApp({ conduit: conduitConfig }, { modules: [conduitModule({ now })], ...appOpts });
  const close = t.close.bind(t);
  let closed: Promise<void> | undefined;
  t.close = () => (closed ??= close());
  closesItself(t);
  const users = new Users(t.app.store.db);
  const c = t as ConduitApp;
  c.users = users;
  c.user = (name, sites, o = {}) =>
    users.add({
      name,
      sites,
      throttleSeconds: o.throttleSeconds === undefined ? 0 : o.throttleSeconds,
      httpApi: o.httpApi,
      plan: o.plan,
    }).token;
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
