/** Property tests of the payload codecs: encryption round trip, refusal of tampered data, last_result lines. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decryptData, DecryptError, encryptData } from '../../../src/modules/sync/crypto.js';
import { decodePayload, parsePluginRows, PLUGIN_COLUMNS } from '../../../src/modules/sync/payload.js';

describe('sync codecs', () => {
  it('decrypt(encrypt(x, k), k) === x for any text and passphrase; the IV is 24 base64 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (plain, key) => {
        const p = encryptData(plain, key);
        expect(p.slice(0, 24)).toMatch(/^[A-Za-z0-9+/]{22}==$/);
        expect(decryptData(p, key)).toBe(plain);
      }),
    );
  });

  it('a wrong passphrase or a tampered payload never yields the plaintext silently as valid JSON', () => {
    fc.assert(
      fc.property(fc.json(), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (json, k1, k2) => {
        fc.pre(k1 !== k2);
        const p = encryptData(json, k1);
        let out: string | undefined;
        try {
          out = decryptData(p, k2);
        } catch (e) {
          expect(e).toBeInstanceOf(DecryptError);
        }
        expect(out).not.toBe(json);
      }),
    );
  });

  it('form posts that turned + into spaces still decrypt, also with + first or last', () => {
    const plain = '{"data": [1, 2, 3]}'.repeat(20);
    for (const first of [0xf8, 0x00, 0xfb]) {
      const p = encryptData(plain, 'k', Buffer.alloc(16, first)); // 0xf8.. encodes as "+..."
      if (first === 0xf8) expect(p.startsWith('+')).toBe(true);
      expect(decryptData(p.replace(/\+/g, ' '), 'k')).toBe(plain);
      expect(decryptData(`${p}\r\n`, 'k')).toBe(plain);
    }
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ minLength: 16, maxLength: 16 }), (text, iv) => {
        const p = encryptData(text, 'key', Buffer.from(iv));
        expect(decryptData(p.replace(/\+/g, ' '), 'key')).toBe(text);
      }),
    );
  });

  it('pipe-delimited last_result lines parse to their NetAlertX columns', () => {
    const cell = fc
      .string()
      .filter((s) => !s.includes('|') && !s.includes('\n') && !s.includes('\r') && !s.includes('\0'));
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 9, maxLength: 13 }), { minLength: 1, maxLength: 20 }),
        (rows) => {
          fc.pre(rows.every((r) => r.join('|').trim() !== ''));
          const text = rows.map((r) => r.join('|')).join('\n') + '\n';
          const parsed = parsePluginRows(text);
          expect(parsed).toEqual({
            kind: 'rows',
            rows: rows.map((r) => Object.fromEntries(r.map((c, i) => [PLUGIN_COLUMNS[i], c]))),
          });
        },
      ),
    );
  });

  it('decodePayload: plain, base64 and empty-key encryption round-trip any devices JSON without a passphrase', () => {
    const dev = fc.record({
      devMac: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== ''),
      devName: fc.string(),
    });
    fc.assert(
      fc.property(
        fc.array(dev, { maxLength: 10 }),
        fc.constantFrom('plain', 'base64', 'encrypted-empty-key'),
        (list, how) => {
          const json = JSON.stringify({ data: list });
          const raw =
            how === 'plain' ? json : how === 'base64' ? Buffer.from(json).toString('base64') : encryptData(json, '');
          const d = decodePayload(raw, { plugin: 'SYNC', passphrase: '', source: 'post' });
          expect(d.text).toBe(json);
          if (d.parsed.kind !== 'devices') throw new Error('kind');
          const macs = new Set(list.map((x) => x.devMac.trim().toLowerCase()).filter((m) => m.length <= 64));
          expect(d.parsed.devices.length).toBe(macs.size);
        },
      ),
    );
  });
});
