/**
 * The hand-written validation passes (validate.ts) against the zod schemas they stand in for:
 * the same inputs accepted, with the same output, and the same 400 answer for the rest.
 * Inputs are JSON texts (what the routes parse), so they hold what JSON.parse can give, 1e400 too.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ingestSchema, zodMessage } from '../../../src/modules/conduit/schemas.js';
import { uplinkSchema, uplinkSeries, v1Data, v2Data } from '../../../src/modules/conduit/uplink.js';
import { checkDatapoints, checkUplink } from '../../../src/modules/conduit/validate.js';
import { bulkPoints } from '../../../src/modules/conduit/writes.js';
import { conduitApp, T0 } from './helpers.js';

/** JSON texts of numbers around every bound of the schemas, and of the other JSON types */
const numbers = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '1',
    '-1',
    '0.5',
    '1e400',
    '-1e400',
    '90',
    '90.0001',
    '-90',
    '-90.5',
    '180',
    '180.5',
    '-180.01',
    '2147483647',
    '2147483648',
    '-2147483648',
    '-2147483649',
    '100000000000',
    '100000000001',
    '1000000000000',
    '9999999999999',
    '10000000000000',
    '9007199254740993',
    '12345678901234567',
    '0.12345678901234567',
    '1614054737',
    '1614054737.5',
  ),
  fc.integer({ min: -3000, max: 3000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);
const strings = fc.oneof(
  fc.constantFrom('"70B3D54990DC01DA"', '"ab01"', '"not hex"', '""', '" North "', '"   "', '"North"', '"0A10"', '"zz"'),
  fc
    .constantFrom('x'.repeat(100), ` ${'y'.repeat(100)} `, 'z'.repeat(101), 'w'.repeat(256), 'v'.repeat(257))
    .map((s) => JSON.stringify(s)),
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('0A10010001000000A00F0000', '0A100100010000', 'F'.repeat(4097)).map((s) => JSON.stringify(s)),
);
const others = fc.constantFrom('null', 'true', 'false', '[]', '{}', '[1]', '{"a":1}');
const scalar = fc.oneof(
  { weight: 3, arbitrary: numbers },
  { weight: 3, arbitrary: strings },
  { weight: 1, arbitrary: others },
);

const POINT_KEYS = [
  'dev_netid',
  'dev_chid',
  'val_date',
  'val_raw',
  'dev_tag',
  'dev_type',
  'dev_label',
  'dev_category',
  'dev_powersource',
  'dev_manufacturer',
  'dev_supplier',
  'dev_model',
  'dev_serial',
  'dev_network',
  'loc_lat',
  'loc_lng',
  'dev_error',
  'dev_site',
  'val_type',
  'val_description',
  'val_cal',
  'val_offset',
  'val_calibrated',
];
const ODD_KEYS = ['__proto__', 'constructor', 'toString', 'extra', 'DEV_NETID'];

/** an object's JSON text: mostly valid values for the required keys, then any of the keys with any values */
function objectText(
  required: Record<string, fc.Arbitrary<string>>,
  keys: string[],
  value: fc.Arbitrary<string>,
  maxExtra = 4,
) {
  const entry = fc.tuple(fc.constantFrom(...keys, ...ODD_KEYS), value);
  const dropped = fc.oneof(fc.constant([]), fc.array(fc.constantFrom(...Object.keys(required)), { maxLength: 2 }));
  return fc
    .tuple(fc.record(required), fc.array(entry, { maxLength: maxExtra }), dropped)
    .map(([req, extra, dropped]) => {
      const entries = new Map<string, string>(Object.entries(req));
      for (const k of dropped) entries.delete(k);
      for (const [k, v] of extra) entries.set(k, v);
      return `{${[...entries].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
    });
}

const pointText = objectText(
  {
    dev_netid: fc.constantFrom('"A1"', '"70b3d54990dc01da"'),
    dev_chid: fc.constantFrom('1', '2', '0', '2147483647'),
    val_date: fc.constantFrom(String(T0), '0', '100000000000'),
    val_raw: fc.constantFrom('4.091', '0', '-12.5'),
  },
  POINT_KEYS,
  scalar,
);
const bulkText = fc.oneof(
  { weight: 8, arbitrary: fc.array(pointText, { maxLength: 6 }).map((ps) => `[${ps.join(',')}]`) },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }).map((vs) => `[${vs.join(',')}]`) },
);

const channelText = objectText(
  { channelId: fc.constantFrom('1', '255', '0'), value: fc.constantFrom('1.25', '-3', '0') },
  ['channelId', 'value'],
  scalar,
  1,
);
const dataText = fc.oneof(
  { weight: 4, arbitrary: fc.array(channelText, { maxLength: 4 }).map((cs) => `[${cs.join(',')}]`) },
  { weight: 2, arbitrary: strings },
  { weight: 1, arbitrary: scalar },
);
const uplinkText = objectText(
  {
    networkId: fc.constantFrom('"AB01"', '"70b3d54990dc01da"'),
    timestamp: fc.constantFrom(String(T0 * 1000), '1000000000000'),
    data: dataText,
    token: fc.constantFrom('"a-token"'),
  },
  ['token', 'networkId', 'timestamp', 'data'],
  fc.oneof(scalar, dataText),
  2,
);

describe('conduit hand validation against the zod schemas', () => {
  it('bulk: accepts exactly what ingestSchema accepts, with its output; refusals answer its message', () => {
    fc.assert(
      fc.property(bulkText, (text) => {
        const fast = checkDatapoints(JSON.parse(text));
        const schema = ingestSchema.safeParse(JSON.parse(text));
        expect(fast !== undefined, text).toBe(schema.success);
        if (schema.success) {
          expect(fast).toEqual(schema.data);
          expect(bulkPoints(text)).toEqual(schema.data);
        } else {
          expect(() => bulkPoints(text)).toThrow(zodMessage(schema.error, 'body'));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('uplinks: accepts exactly what uplinkSchema and its V1/V2 data schema accept, with their output', () => {
    fc.assert(
      fc.property(uplinkText, (text) => {
        const fast = checkUplink(JSON.parse(text));
        const env = uplinkSchema.safeParse(JSON.parse(text));
        const data = env.success
          ? (typeof env.data.data === 'string' ? v1Data : v2Data).safeParse(env.data.data)
          : undefined;
        const ok = env.success && data!.success;
        expect(fast !== undefined, text).toBe(ok);
        if (env.success && data!.success) {
          const { token: _token, ...rest } = env.data;
          expect(fast).toEqual({ ...rest, data: data!.data });
        } else if (['networkId', 'data'].every((k) => (JSON.parse(text) as Record<string, unknown>)[k] === undefined)) {
          expect(() => uplinkSeries(JSON.parse(text), 0)).toThrow('or an uplink object {networkId, timestamp, data}');
        } else if (!env.success) {
          expect(() => uplinkSeries(JSON.parse(text), 0)).toThrow(zodMessage(env.error, 'body'));
        } else {
          expect(() => uplinkSeries(JSON.parse(text), 0)).toThrow(zodMessage(data!.error!, 'body.data'));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('over HTTP: a bulk body answers 200 with its length, 400 with the schema message, or 403 for a site not its own', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    await fc.assert(
      fc.asyncProperty(bulkText, async (text) => {
        const r = await c.req({
          method: 'POST',
          token: tok,
          payload: text,
          headers: { 'content-type': 'application/json' },
        });
        const schema = ingestSchema.safeParse(JSON.parse(text));
        // a valid batch naming a site the user does not have is refused (403) after validation
        const foreign = schema.success
          ? schema.data.find((p) => p.dev_site !== undefined && p.dev_site !== 'S')
          : undefined;
        if (foreign)
          expect(r.json(), text).toEqual({ code: '403', error: `site "${foreign.dev_site}" is not one of your sites` });
        else if (schema.success) expect(r.json(), text).toEqual({ code: '200', accepted: schema.data.length });
        else expect(r.json(), text).toEqual({ code: '400', error: zodMessage(schema.error, 'body') });
      }),
      { numRuns: 60 },
    );
  });
});
