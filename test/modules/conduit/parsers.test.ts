import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../src/core/errors.js';
import { parseChs, parseIds, parseRange } from '../../../src/modules/conduit/schemas.js';
import { calibrate, serializePoints } from '../../../src/modules/conduit/serialize.js';
import type { ChannelMeta, PointRow } from '../../../src/modules/conduit/query.js';

const hexId = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 1, maxLength: 20 });

/** splits a list into query arguments: some repeated, some comma-joined */
function asArgs(list: string[], cuts: boolean[]): string | string[] {
  const out: string[] = [];
  list.forEach((v, i) => {
    if (i > 0 && cuts[i % cuts.length]) out[out.length - 1] += `,${v}`;
    else out.push(v);
  });
  return out.length === 1 ? out[0]! : out;
}

describe('conduit argument parsers (property)', () => {
  it('ids: repeated or comma-separated give the same upper-case set', () => {
    fc.assert(
      fc.property(
        fc.array(hexId, { minLength: 1, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 1 }),
        (ids, cuts) => {
          const got = parseIds(asArgs(ids, cuts));
          expect(new Set(got)).toEqual(new Set(ids.map((s) => s.toUpperCase())));
          expect(got!.length).toBe(new Set(got).size);
        },
      ),
    );
  });

  it('ids: anything that is not hex is a 400 naming it', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/^[0-9A-Fa-f,\s]*$/.test(s)),
        (bad) => {
          try {
            parseIds(['AB', bad]);
            expect.unreachable();
          } catch (e) {
            expect(e).toBeInstanceOf(HttpError);
            expect((e as HttpError).statusCode).toBe(400);
          }
        },
      ),
    );
  });

  it('channels: non-negative integers round-trip; others are a 400', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 1 }),
        (chs, cuts) => {
          expect(new Set(parseChs(asArgs(chs.map(String), cuts)))).toEqual(new Set(chs));
        },
      ),
    );
    for (const bad of ['-1', '1.5', '2147483648', 'x', '1e3']) expect(() => parseChs(bad)).toThrow(HttpError);
    expect(parseChs(undefined)).toBeUndefined();
    expect(parseChs(',, ,')).toBeUndefined();
  });

  it('ranges: from <= to passes unchanged, from > to is a 400, neither is the last hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), fc.integer({ min: 0, max: 99_999_999_999 }), (a, b) => {
        const q = { fcdt: String(a), tcdt: String(b) };
        if (a <= b) expect(parseRange(q, 0)).toEqual({ from: a, to: b });
        else expect(() => parseRange(q, 0)).toThrow('fcdt is after tcdt');
      }),
    );
    expect(parseRange({}, 10_000)).toEqual({ from: 6400, to: 10_000 });
  });
});

const text = fc.option(fc.string({ maxLength: 30, unit: 'binary' }), { nil: null });
const num = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 });
const meta = fc.record<ChannelMeta>({
  netid: hexId.map((s) => s.toUpperCase()),
  chid: fc.integer({ min: 0, max: 1000 }),
  site: fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }),
  tag: text,
  type: text,
  label: text,
  category: text,
  powersource: text,
  manufacturer: text,
  supplier: text,
  model: text,
  serial: text,
  network: text,
  lat: fc.option(fc.double({ min: -90, max: 90, noNaN: true }), { nil: null }),
  lng: fc.option(fc.double({ min: -180, max: 180, noNaN: true }), { nil: null }),
  error: fc.integer(),
  val_type: text,
  val_description: text,
  val_cal: num,
  val_offset: num,
});

describe('conduit answer serializer (property)', () => {
  it('equals JSON.stringify of the datapoint objects, in the spec field order', () => {
    fc.assert(
      fc.property(
        fc.array(meta, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2 ** 40 }), num), { maxLength: 20 }),
        (metas, pts) => {
          const rows: PointRow[] = pts.map(([m, date, raw]) => [
            m % metas.length,
            metas[m % metas.length]!.chid,
            date,
            raw,
          ]);
          const expected = rows.map(([d, , date, raw]) => {
            const m = metas[d]!;
            return {
              val_date: date,
              dev_netid: m.netid,
              dev_chid: m.chid,
              val_raw: raw,
              val_type: m.val_type,
              dev_tag: m.tag,
              val_description: m.val_description,
              dev_site: m.site,
              val_cal: m.val_cal,
              val_offset: m.val_offset,
              dev_error: m.error,
              dev_type: m.type,
              dev_label: m.label,
              dev_category: m.category,
              dev_powersource: m.powersource,
              dev_manufacturer: m.manufacturer,
              dev_supplier: m.supplier,
              dev_model: m.model,
              dev_serial: m.serial,
              dev_network: m.network,
              loc_lat: m.lat,
              loc_lng: m.lng,
              val_calibrated: calibrate(raw, m.val_cal, m.val_offset),
            };
          });
          expect(serializePoints(rows, (d) => metas[d])).toBe(JSON.stringify(expected));
        },
      ),
    );
  });

  it('val_calibrated = val_raw * (val_cal == 0 ? 1 : val_cal) + val_offset', () => {
    expect(calibrate(4.091, 0, 0)).toBe(4.091);
    expect(calibrate(10, 2, 1)).toBe(21);
    expect(calibrate(10, 0, -3)).toBe(7);
  });
});
