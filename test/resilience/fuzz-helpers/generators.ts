/**
 * One generator per route that takes input, keyed "METHOD /path" as Fastify lists them
 * (printRoutes). Each starts from what a real client sends and mutates it (see request.ts), so a
 * good share of the cases passes authentication and reaches validation and the handlers.
 */
import fc from 'fast-check';
import { CONDUIT_SITE, PATRIOT_KEY_NAME } from './sandbox.js';
import { formBody, jsonBody, mutated, request, type BodyFuzz, type Cred, type FuzzRequest } from './request.js';
import { anyJson, anyName, anyNumberish, anyString, NUMBER_TEXTS, okText, pct, queryOf, TRAVERSAL } from './values.js';

export type Gen = fc.Arbitrary<FuzzRequest>;

/** a path parameter: valid-looking, number-ish, traversal or anything, percent-encoded (or raw traversal) */
const param = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: valid.map(pct) },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBER_TEXTS).map(pct) },
    { weight: 2, arbitrary: anyName.map(pct) },
    { weight: 1, arbitrary: fc.constantFrom(...TRAVERSAL.filter((t) => !/[\0\\%]/.test(t))) },
    { weight: 1, arbitrary: fc.integer({ min: 150, max: 2000 }).map((n) => 'x'.repeat(n)) },
  );
const noQuery = fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryOf(['token', 'x']) });
const deviceIdText = fc.oneof(
  fc.constantFrom(...NUMBER_TEXTS),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
  fc.integer({ min: 1, max: 20 }).map(String),
);

// ---- sync ----
const syncDeviceBase = fc.record(
  {
    devMac: fc.oneof(fc.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), anyString),
    devName: fc.oneof(okText, anyString),
    devLastIP: okText,
    devVendor: fc.oneof(okText, anyJson),
    rowid: anyNumberish,
    [`dev${'X'}`]: anyJson,
  },
  { requiredKeys: ['devMac'] },
);
// devices may carry any other field (kept and served back by GET /sync): odd names included
const syncDevice = fc
  .tuple(
    syncDeviceBase,
    fc.dictionary(
      fc.oneof(
        fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'devStatus', 'rowid', ''),
        anyString,
      ),
      anyJson,
      { maxKeys: 3 },
    ),
  )
  .map(([d, extra]) => Object.assign(JSON.parse(JSON.stringify(extra)) as Record<string, unknown>, d))
  // stored devices stay small: GET /sync serves the whole table in one answer, so huge fields would
  // accumulate over a long run until each GET is hundreds of MB (huge strings still reach the other fields)
  .filter((d) => JSON.stringify(d).length < 4000);
const syncData = fc.oneof(
  fc.array(syncDevice, { maxLength: 5 }).map((d) => JSON.stringify({ data: d })),
  fc.array(syncDevice, { maxLength: 5 }).map((d) => JSON.stringify({ data: d })),
  fc.array(syncDevice, { maxLength: 3 }).map((d) => Buffer.from(JSON.stringify({ data: d })).toString('base64')),
  fc.constantFrom('a|b|2024-01-01 00:00:00|w1|w2|w3|w4|e|fk', 'x|y', '{"data": 5}', '[]', 'null', 'U2FsdGVkX1+garbage'),
  anyString,
);
const syncFields = mutated(
  fc.record(
    {
      data: syncData,
      node_name: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      plugin: fc.constantFrom('SYNC', 'ARPSCAN', 'x'),
      file_path: fc.oneof(fc.constant('table_devices.json'), anyName),
    },
    { requiredKeys: ['data', 'node_name', 'plugin'] },
  ),
) as fc.Arbitrary<Record<string, unknown>>;

// ---- push ----
const commandSpec = fc.record(
  {
    endpoint: fc.constantFrom('load_objects', 'reboot', 'set_configuration.fcgi', 'a-b_c.d'),
    verb: fc.constantFrom('GET', 'POST'),
    body: anyJson,
    contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.x+json'),
    queryString: fc.constantFrom('a=1&b=2', '', '%2e%2e/x', '<x>'),
    expiresAt: fc.constantFrom('2999-01-01T00:00:00Z', '2999-01-01T00:00:00+05:30', '9999-12-31T23:59:59.999Z'),
    maxAttempts: fc.integer({ min: 1, max: 100 }),
  },
  { requiredKeys: ['endpoint'] },
);
const bulkSpec = fc
  .tuple(commandSpec, fc.array(fc.oneof(deviceIdText, anyNumberish, anyJson), { minLength: 0, maxLength: 6 }))
  .map(([s, ids]) => ({ ...s, deviceIds: ids }));

// ---- conduit ----
const netid = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('A1', 'a1', 'B2', 'DEADBEEF', 'ff') },
  { weight: 2, arbitrary: fc.stringMatching(/^[0-9A-F]{1,16}$/) },
  { weight: 1, arbitrary: anyString },
);
const text256 = fc.oneof(okText, fc.constant(null));
/** an AlphaX uplink: V2 (array) or V1 (hex string) */
const uplink = fc.record({
  networkId: netid,
  timestamp: fc.oneof(fc.integer({ min: 1e12, max: 9_999_999_999_999 }), fc.integer()),
  data: fc.oneof(
    fc.array(fc.record({ channelId: fc.integer({ min: 0, max: 255 }), value: fc.oneof(fc.double(), fc.string()) }), {
      maxLength: 40,
    }),
    fc.uint8Array({ maxLength: 150 }).map((b) => Buffer.from(b).toString('hex')),
    fc.string(),
  ),
});
const datapoint = fc.record(
  {
    dev_netid: netid,
    dev_chid: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(2 ** 31 - 1)),
    val_date: fc.oneof(fc.integer({ min: 1_600_000_000, max: 1_800_000_000 }), fc.constantFrom(0, 1e11)),
    val_raw: fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      // eslint-disable-next-line no-loss-of-precision -- on purpose: a value past 2^53 that JSON cannot carry exactly
      fc.constantFrom(0, -0, Number.MAX_VALUE, Number.MIN_VALUE, 9007199254740993),
    ),
    dev_site: fc.constant(CONDUIT_SITE),
    dev_tag: text256,
    val_type: text256,
    val_cal: fc.double({ noNaN: true, noDefaultInfinity: true }),
    loc_lat: fc.double({ min: -90, max: 90, noNaN: true }),
    dev_error: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    val_calibrated: fc.oneof(
      { weight: 4, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
      { weight: 1, arbitrary: anyNumberish },
    ),
  },
  { requiredKeys: ['dev_netid', 'dev_chid', 'val_date', 'val_raw'] },
);
const range = fc
  .tuple(fc.integer({ min: 1_600_000_000, max: 1_800_000_000 }), fc.integer({ min: 0, max: 100_000_000 }))
  .map(([f, d]) => [String(f), String(f + d)] as const);
/** id/ch/fcdt/tcdt: mostly what a client sends (id given when `needId`, a range in order), else hostile */
const conduitQuery = (needId: boolean) =>
  fc
    .record(
      {
        id: fc.oneof(
          netid,
          fc.array(netid, { minLength: 1, maxLength: 4 }).map((a) => a.join(',')),
        ),
        ch: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 0, max: 5 }).map(String) },
          { weight: 1, arbitrary: fc.constantFrom(...NUMBER_TEXTS) },
        ),
        range: fc.oneof(
          { weight: 4, arbitrary: range },
          { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NUMBER_TEXTS), fc.constantFrom(...NUMBER_TEXTS)) },
        ),
      },
      { requiredKeys: needId ? ['id'] : [] },
    )
    .map(({ range: r, ...rest }) => {
      const q: Record<string, string> = { ...rest };
      if (r) [q.fcdt, q.tcdt] = r;
      return Object.entries(q)
        .map(([k, v]) => `${k}=${pct(v)}`)
        .join('&');
    })
    .chain((q) =>
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(q) },
        { weight: 1, arbitrary: queryOf(['id', 'ch', 'fcdt', 'tcdt']) },
      ),
    );
/** the V4 webhook's query: one value (netid, chid, value) or V1 hex (id, data, date), mostly well-formed */
const webhookQuery = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        netid,
        chid: fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom(...NUMBER_TEXTS)),
        value: fc.oneof(
          fc.double().map(String),
          fc.constantFrom(...NUMBER_TEXTS, 'NaN', 'Infinity', '1e400', '12345678901234567'),
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record(
        {
          id: netid,
          data: fc.oneof(
            fc.uint8Array({ maxLength: 150 }).map((b) => Buffer.from(b).toString('hex')),
            fc.string(),
          ),
          date: fc.oneof(
            fc.integer({ min: 1e12, max: 9_999_999_999_999 }).map(String),
            fc.constantFrom(...NUMBER_TEXTS),
          ),
        },
        { requiredKeys: ['id', 'data'] },
      ),
    },
  )
  .map((q) =>
    Object.entries(q)
      .map(([k, v]) => `${k}=${pct(String(v))}`)
      .join('&'),
  )
  .chain((q) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constant(q) },
      { weight: 1, arbitrary: queryOf(['netid', 'chid', 'value', 'id', 'data', 'date']) },
    ),
  );
const metadata = mutated(
  fc.record(
    {
      dev_tag: text256,
      dev_label: text256,
      val_type: text256,
      val_cal: fc.double({ noNaN: true, noDefaultInfinity: true }),
      loc_lng: fc.double({ min: -180, max: 180, noNaN: true }),
      dev_site: fc.constant(CONDUIT_SITE),
    },
    { requiredKeys: [] },
  ),
);
const overrideHeader = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('PUT', 'DELETE', 'put', ' delete ', 'POST', 'GET', 'PATCH', 'x'.repeat(300))
      .map((m) => ({ 'x-http-method-override': m })),
  },
);
const userName = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.@-]{1,64}$/), anyName);

// ---- patriot ----
const clientId = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(2147483647, '3') },
);
const patriotInfo = fc.record(
  {
    Name: okText,
    Alias: okText,
    Location: okText,
    SpecRequest: okText,
    NoSigsMon: fc.oneof(fc.integer({ min: 0, max: 99 }), fc.constantFrom('7', ' 12 ', '+3')),
    SinceHrs: fc.integer({ min: 0, max: 23 }),
    ResetNosigsIgnored: fc.oneof(fc.boolean(), fc.constantFrom('True', 'no', '1', 0)),
    InstallDateTime: fc.constantFrom('2024-01-02', '2024-01-02T03:04:05', '', '2024-13-45', '2024-01-02 03:04:05.123'),
    SPPage: okText,
  },
  { requiredKeys: [] },
);
const patriotUser = fc.record(
  {
    User_Name: okText,
    UserNo: fc.integer({ min: 1, max: 4 }),
    Type: fc.constantFrom('U', 'N', 'abcd'),
    MobileNo: okText,
    CallOrder: fc.integer({ min: 0, max: 999 }),
    Instructions: okText,
  },
  { requiredKeys: ['User_Name', 'UserNo'] },
);
const clientHeaders = (withUser: boolean) =>
  fc
    .record(
      {
        'x-client-id': fc.oneof(
          { weight: 4, arbitrary: clientId.map(String) },
          { weight: 1, arbitrary: fc.constantFrom(...NUMBER_TEXTS) },
        ),
        'x-user-no': fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }).map(String) },
          { weight: 1, arbitrary: fc.constantFrom(...NUMBER_TEXTS) },
        ),
      },
      { requiredKeys: ['x-client-id'] },
    )
    .map((h) => {
      const o: Record<string, string> = {};
      for (const [k, v] of Object.entries(h))
        if (withUser || k !== 'x-user-no') o[k] = String(v).replace(/[\r\n\0]/g, '');
      return o;
    });
const pj = (v: fc.Arbitrary<unknown>) => jsonBody(v);

const g = (
  method: string,
  path: fc.Arbitrary<string> | string,
  query: fc.Arbitrary<string>,
  cred: Cred,
  body?: Parameters<typeof request>[4],
  headers?: Parameters<typeof request>[5],
): Gen => request(method, typeof path === 'string' ? fc.constant(path) : path, query, cred, body, headers);

/** route -> generator. Keys are "METHOD /path" with Fastify's `:param` names. */
export const GENERATORS: Record<string, Gen> = {
  // sync
  'GET /sync': g('GET', '/sync', noQuery, 'sync'),
  'POST /sync': g('POST', '/sync', noQuery, 'sync', formBody(syncFields)),
  'GET /sync/devices': g('GET', '/sync/devices', queryOf(['node', 'mac', 'since', 'limit', 'offset']), 'sync'),
  'GET /sync/notifications': g('GET', '/sync/notifications', queryOf(['limit', 'after_id']), 'sync'),
  // push device side
  'GET /push': g(
    'GET',
    '/push',
    fc.oneof(
      deviceIdText.map((d) => `deviceId=${pct(d)}`),
      fc.tuple(deviceIdText, anyString).map(([d, u]) => `deviceId=${pct(d)}&uuid=${pct(u)}`),
      queryOf(['deviceId', 'uuid']),
    ),
    'none',
  ),
  'POST /result': g(
    'POST',
    '/result',
    fc.oneof(
      fc
        .tuple(deviceIdText, fc.option(anyString), fc.option(anyString))
        .map(
          ([d, u, e]) =>
            `deviceId=${pct(d)}${u === null ? '' : `&uuid=${pct(u)}`}${e === null ? '' : `&endpoint=${pct(e)}`}`,
        ),
      queryOf(['deviceId', 'uuid', 'endpoint']),
    ),
    'none',
    jsonBody(
      fc.oneof(
        fc.record({ response: anyJson }),
        fc.record({ error: anyJson }),
        fc.record({ uuid: anyString, response: anyJson }),
        anyJson,
      ),
    ),
  ),
  // push admin
  'PUT /admin/push/devices/:deviceId': g(
    'PUT',
    param(deviceIdText).map((d) => `/admin/push/devices/${d}`),
    noQuery,
    'admin',
  ),
  'POST /admin/push/devices/:deviceId/commands': g(
    'POST',
    param(deviceIdText).map((d) => `/admin/push/devices/${d}/commands`),
    noQuery,
    'admin',
    pj(mutated(commandSpec)),
  ),
  'GET /admin/push/devices/:deviceId/commands': g(
    'GET',
    param(deviceIdText).map((d) => `/admin/push/devices/${d}/commands`),
    queryOf(['status', 'limit', 'offset']),
    'admin',
  ),
  'POST /admin/push/commands': g('POST', '/admin/push/commands', noQuery, 'admin', pj(mutated(bulkSpec))),
  // an unknown id answers at once; waitSeconds only holds a request for an existing unfinished command
  'GET /admin/push/commands/:id': g(
    'GET',
    param(anyName).map((i) => `/admin/push/commands/${i}`),
    queryOf(['waitSeconds']),
    'admin',
  ),
  'DELETE /admin/push/commands/:id': g(
    'DELETE',
    param(anyName).map((i) => `/admin/push/commands/${i}`),
    noQuery,
    'admin',
  ),
  // conduit
  'GET /conduitv6': g('GET', fc.constantFrom('/conduitv6', '/conduitv6/'), conduitQuery(false), 'conduit'),
  'POST /conduitv6': g(
    'POST',
    fc.constantFrom('/conduitv6', '/conduitv6/'),
    conduitQuery(true),
    'conduit',
    jsonBody(
      fc.oneof(
        { weight: 6, arbitrary: fc.array(mutated(datapoint), { minLength: 1, maxLength: 6 }) },
        { weight: 1, arbitrary: mutated(datapoint) },
        { weight: 1, arbitrary: anyJson },
      ),
      { gzip: true },
    ),
    overrideHeader,
  ),
  'POST /conduitv6/uplink': g(
    'POST',
    '/conduitv6/uplink',
    conduitQuery(true),
    'conduit',
    jsonBody(fc.oneof({ weight: 6, arbitrary: mutated(uplink) }, { weight: 1, arbitrary: anyJson }), { gzip: true }),
  ),
  'POST /conduitv4/post': g(
    'POST',
    '/conduitv4/post',
    webhookQuery,
    'conduit',
    fc.oneof({ weight: 4, arbitrary: fc.constant<BodyFuzz>({ headers: {} }) }, { weight: 1, arbitrary: pj(anyJson) }),
  ),
  'PUT /conduitv6': g('PUT', '/conduitv6', conduitQuery(true), 'conduit', jsonBody(metadata, { gzip: true })),
  'DELETE /conduitv6': g('DELETE', '/conduitv6', conduitQuery(true), 'conduit'),
  // conduit admin
  'POST /admin/conduit/users': g(
    'POST',
    '/admin/conduit/users',
    noQuery,
    'admin',
    pj(
      mutated(
        fc.record(
          {
            name: userName,
            token: fc.oneof(fc.string({ minLength: 16, maxLength: 40 }), anyString),
            sites: fc.array(fc.oneof(fc.constant(CONDUIT_SITE), anyName)),
            httpApi: fc.boolean(),
            throttleSeconds: anyNumberish,
          },
          { requiredKeys: ['name'] },
        ),
      ),
    ),
  ),
  // the fuzz user's own token and switches are never the target (its name is not in these pools)
  'PATCH /admin/conduit/users/:name': g(
    'PATCH',
    param(fc.constantFrom('victim', 'nobody')).map((n) => `/admin/conduit/users/${n}`),
    noQuery,
    'admin',
    pj(
      mutated(
        fc.record(
          { enabled: fc.boolean(), httpApi: fc.boolean(), throttleSeconds: fc.oneof(anyNumberish, fc.constant(null)) },
          { requiredKeys: [] },
        ),
      ),
    ),
  ),
  'POST /admin/conduit/users/:name/token': g(
    'POST',
    param(fc.constantFrom('victim', 'nobody')).map((n) => `/admin/conduit/users/${n}/token`),
    noQuery,
    'admin',
  ),
  'PUT /admin/conduit/users/:name/sites/:site': g(
    'PUT',
    fc
      .tuple(param(fc.constantFrom('victim', 'nobody')), param(fc.oneof(fc.constant('site-b'), anyName)))
      .map(([n, s]) => `/admin/conduit/users/${n}/sites/${s}`),
    noQuery,
    'admin',
  ),
  'DELETE /admin/conduit/users/:name/sites/:site': g(
    'DELETE',
    fc
      .tuple(param(fc.constantFrom('victim', 'nobody')), param(fc.oneof(fc.constant('site-b'), anyName)))
      .map(([n, s]) => `/admin/conduit/users/${n}/sites/${s}`),
    noQuery,
    'admin',
  ),
  // patriot
  'GET /clients': g('GET', '/clients', noQuery, 'patriot', undefined, clientHeaders(false)),
  'PUT /clients': g(
    'PUT',
    '/clients',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId, info: mutated(patriotInfo) }))),
  ),
  'PATCH /clients': g(
    'PATCH',
    '/clients',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId, info: mutated(patriotInfo) }))),
  ),
  'DELETE /clients': g(
    'DELETE',
    '/clients',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: fc.integer({ min: 3, max: 4 }) }))),
  ),
  'GET /clients/zones': g('GET', '/clients/zones', noQuery, 'patriot', undefined, clientHeaders(false)),
  'PUT /clients/zones': g(
    'PUT',
    '/clients/zones',
    noQuery,
    'patriot',
    pj(
      mutated(
        fc.record(
          {
            client_id: clientId,
            zone_id: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(999)),
            Zone_area: okText,
            ModuleNo: fc.integer({ min: 0, max: 999 }),
          },
          { requiredKeys: ['client_id', 'zone_id'] },
        ),
      ),
    ),
  ),
  'DELETE /clients/zones': g(
    'DELETE',
    '/clients/zones',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId, zone_id: fc.integer({ min: 1, max: 3 }) }))),
  ),
  'POST /clients/zones/list': g(
    'POST',
    '/clients/zones/list',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId }))),
  ),
  'GET /clients/users': g('GET', '/clients/users', noQuery, 'patriot', undefined, clientHeaders(false)),
  'POST /clients/users': g(
    'POST',
    '/clients/users',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId, user: mutated(patriotUser) }))),
  ),
  'PUT /clients/users': g(
    'PUT',
    '/clients/users',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId, user: mutated(patriotUser) }))),
  ),
  'DELETE /clients/users': g(
    'DELETE',
    '/clients/users',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId, user_no: fc.integer({ min: 1, max: 4 }) }))),
  ),
  'GET /clients/users/single': g('GET', '/clients/users/single', noQuery, 'patriot', undefined, clientHeaders(true)),
  'POST /clients/users/list': g(
    'POST',
    '/clients/users/list',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId }))),
  ),
  'POST /clients/users/get': g(
    'POST',
    '/clients/users/get',
    noQuery,
    'patriot',
    pj(mutated(fc.record({ client_id: clientId, user_no: fc.integer({ min: 1, max: 4 }) }))),
  ),
  // patriot import (admin)
  'GET /admin/patriot/import-runs': g('GET', '/admin/patriot/import-runs', queryOf(['limit', 'x']), 'admin'),
  'GET /admin/patriot/import-state': g(
    'GET',
    '/admin/patriot/import-state',
    queryOf(['status', 'key_name', 'id', 'limit', 'offset']).map((q) => (q ? `${q}&key_name=${PATRIOT_KEY_NAME}` : q)),
    'admin',
  ),
  // operator reads and actions the console uses (issue 15)
  'GET /admin/push/devices': g(
    'GET',
    '/admin/push/devices',
    queryOf(['q', 'sort', 'order', 'online', 'limit', 'offset']),
    'admin',
  ),
  'GET /admin/sync/notifications': g('GET', '/admin/sync/notifications', queryOf(['limit', 'x']), 'admin'),
  'POST /admin/sync/notifications/:id/read': g(
    'POST',
    param(fc.integer({ min: 1, max: 5 }).map(String)).map((id) => `/admin/sync/notifications/${id}/read`),
    noQuery,
    'admin',
  ),
  'POST /admin/sync/notifications/read': g(
    'POST',
    '/admin/sync/notifications/read',
    noQuery,
    'admin',
    pj(mutated(fc.record({ upToId: fc.integer({ min: 1, max: 1000 }) }, { requiredKeys: [] }))),
  ),
  'GET /admin/sync/payloads': g('GET', '/admin/sync/payloads', queryOf(['status', 'node', 'limit', 'offset']), 'admin'),
  'GET /admin/patriot/keys/:keyName/clients': g(
    'GET',
    param(fc.constantFrom(PATRIOT_KEY_NAME, 'nobody')).map((k) => `/admin/patriot/keys/${k}/clients`),
    queryOf(['q', 'status', 'limit', 'offset']),
    'admin',
  ),
  'POST /admin/patriot/keys/:keyName/clients/:clientId/resend': g(
    'POST',
    fc
      .tuple(param(fc.constantFrom(PATRIOT_KEY_NAME, 'nobody')), param(fc.integer({ min: 1, max: 5 }).map(String)))
      .map(([k, c]) => `/admin/patriot/keys/${k}/clients/${c}/resend`),
    noQuery,
    'admin',
  ),
  'GET /admin/conduit/devices': g('GET', '/admin/conduit/devices', queryOf(['q', 'limit', 'offset']), 'admin'),
  'GET /admin/conduit/datapoints': g(
    'GET',
    '/admin/conduit/datapoints',
    queryOf(['netid', 'chid', 'from', 'to', 'limit']),
    'admin',
  ),
  'POST /console/login': g('POST', '/console/login', noQuery, 'none', pj(mutated(fc.record({ token: anyString })))),
  'GET /console/*': g(
    'GET',
    fc
      .oneof(fc.constantFrom(...TRAVERSAL.filter((t) => !t.includes('\0'))), anyName.map(pct))
      .map((p) => `/console/assets/${p}`),
    noQuery,
    'none',
  ),
  // core: swagger-ui's static files, where a path is input
  'GET /docs/*': g(
    'GET',
    fc
      .oneof(fc.constantFrom(...TRAVERSAL.filter((t) => !t.includes('\0'))), anyName.map(pct))
      .map((p) => `/docs/static/${p}`),
    noQuery,
    'none',
  ),
};

/**
 * Routes that take no input (no body, query, params or headers of their own): they get only the
 * generic noise fuzz. The suite checks that their OpenAPI entry (when documented) declares no input.
 */
export const NO_INPUT = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /docs',
  'GET /docs/json',
  'GET /docs/yaml',
  'GET /docs/static/index.html',
  'GET /docs/static/swagger-initializer.js',
  'POST /admin/sync/pull',
  'POST /admin/sync/push',
  'POST /admin/sync/process',
  'POST /admin/sync/retry',
  'GET /admin/push/health',
  'GET /admin/sync/health',
  'GET /admin/sync/nodes',
  'GET /admin/patriot/health',
  'GET /admin/patriot/keys',
  'GET /admin/conduit/health',
  'GET /console',
  'GET /console/session',
  'POST /console/logout',
  'GET /admin/conduit/users',
  'GET /admin/conduit/sites',
  'POST /admin/conduit/retention/run',
  'POST /admin/patriot/import-runs',
]);

/**
 * Paths whose extra methods are answered 405 before anything is read (conduit: TRACE, OPTIONS...;
 * patriot: every method a path does not serve). The fuzz asserts the 405 for each of them.
 */
export const METHOD_NOT_ALLOWED_PATHS = [
  '/conduitv6',
  '/conduitv4/post',
  '/clients',
  '/clients/zones',
  '/clients/zones/list',
  '/clients/users',
  '/clients/users/single',
  '/clients/users/list',
  '/clients/users/get',
];
