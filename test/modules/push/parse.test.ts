/** Property tests for the parsers: int64 device ids, lenient results, the push answer. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResult, pushPayload } from '../../../src/modules/push/command.js';
import { commandSpecSchema } from '../../../src/modules/push/schemas.js';
import { deviceIdFromJson, parseDeviceId } from '../../../src/modules/push/device-id.js';

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;

describe('parseDeviceId', () => {
  it('round-trips every int64 exactly, canonicalising leading zeros', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: MIN, max: MAX }), fc.nat({ max: 3 }), (b, zeros) => {
        const s = b.toString();
        expect(parseDeviceId(s)).toBe(s);
        const padded = b < 0n ? `-${'0'.repeat(zeros)}${(-b).toString()}` : `${'0'.repeat(zeros)}${s}`;
        if (padded.replace('-', '').length <= 19) expect(parseDeviceId(padded)).toBe(s);
      }),
    );
    expect(parseDeviceId('9223372036854775807')).toBe('9223372036854775807');
    expect(parseDeviceId('-9223372036854775808')).toBe('-9223372036854775808');
    expect(parseDeviceId('-0')).toBe('0');
  });

  it('rejects integers outside int64 and anything that is not a decimal integer', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: MAX + 1n, max: 2n ** 80n }), fc.bigInt({ min: -(2n ** 80n), max: MIN - 1n })),
        (b) => {
          expect(parseDeviceId(b.toString())).toBeUndefined();
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        fc.pre(!/^-?\d+$/.test(s));
        expect(parseDeviceId(s)).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (d) => {
        fc.pre(!Number.isInteger(d));
        expect(parseDeviceId(String(d))).toBeUndefined();
      }),
    );
    for (const v of [undefined, null, 5, ['1'], '', '+1', ' 1', '1 ', '1e3', '0x1f'])
      expect(parseDeviceId(v)).toBeUndefined();
  });

  it('accepts JSON numbers only when they are safe integers', () => {
    expect(deviceIdFromJson(42)).toBe('42');
    expect(deviceIdFromJson(2 ** 53)).toBeUndefined();
    expect(deviceIdFromJson(1.5)).toBeUndefined();
    expect(deviceIdFromJson('9223372036854775807')).toBe('9223372036854775807');
  });
});

describe('parseResult', () => {
  it('keeps any JSON response value exactly, and error strings', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(fc.uuid(), { nil: undefined }), (v, uuid) => {
        const r = parseResult(JSON.stringify({ response: v, uuid }));
        expect(r.ok).toBe(true);
        if (typeof v === 'string')
          expect(r).toMatchObject({ response: v, responseEncoding: 'string' }); // kept as sent, not re-encoded
        else expect(JSON.parse(r.response!)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(r.uuid).toBe(uuid);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (e) => {
        expect(parseResult(JSON.stringify({ error: e }))).toEqual({
          ok: false,
          response: null,
          responseEncoding: null,
          error: e,
          errorEncoding: 'string',
          uuid: undefined,
        });
      }),
    );
  });

  it('never throws on arbitrary text; non-JSON text is kept as a string response', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseResult(s);
        if (r.ok && r.responseEncoding === 'json') expect(() => JSON.parse(r.response!)).not.toThrow();
        if (r.ok && r.responseEncoding === 'string') expect(typeof r.response).toBe('string');
      }),
    );
    expect(parseResult('plain text')).toEqual({
      ok: true,
      response: 'plain text',
      responseEncoding: 'string',
      error: null,
      errorEncoding: null,
    });
  });
});

describe('pushPayload', () => {
  it('holds exactly the fields the command sets, plus uuid', () => {
    const spec = fc.record(
      {
        verb: fc.constantFrom('GET' as const, 'POST' as const),
        endpoint: fc.stringMatching(/^[a-z_]{1,20}$/),
        body: fc.jsonValue(),
        contentType: fc.constant('application/json'),
        queryString: fc.stringMatching(/^[a-z0-9=&]{0,20}$/),
      },
      { requiredKeys: ['endpoint'] },
    );
    fc.assert(
      fc.property(spec, fc.uuid(), (s, id) => {
        const parsed = commandSpecSchema.parse(s);
        const out = JSON.parse(pushPayload(id, parsed)) as Record<string, unknown>;
        expect(Object.keys(out).sort()).toEqual(
          [...Object.keys(s).filter((k) => (s as Record<string, unknown>)[k] !== undefined), 'uuid'].sort(),
        );
        expect(out.uuid).toBe(id);
        expect(out.endpoint).toBe(s.endpoint);
      }),
    );
  });
});

describe('response as a JSON-encoded string (Control iD samples)', () => {
  it('keeps the string byte-exact (no double encoding) and decodes it for the operator view', async () => {
    const { decodeText } = await import('../../../src/modules/push/command.js');
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 1, 2), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        fc.pre(text !== undefined);
        const r = parseResult(JSON.stringify({ response: text }));
        expect(r).toMatchObject({ ok: true, response: text, responseEncoding: 'string' });
        expect(decodeText(r.response!, 'string')).toEqual(JSON.parse(text));
      }),
    );
    expect(decodeText('not json', 'string')).toBe('not json');
    const e = parseResult('{"error":"{\\"code\\":3}"}');
    expect(e).toMatchObject({ ok: false, error: '{"code":3}', errorEncoding: 'string' });
    expect(parseResult('{"error":{"code":3}}')).toMatchObject({
      ok: false,
      error: '{"code":3}',
      errorEncoding: 'json',
    });
  });
});
