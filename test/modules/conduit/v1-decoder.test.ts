import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeV1 } from '../../../src/modules/conduit/uplink.js';

/** An encoder written from the peer notes: 4 little-endian 16-bit device values, then 32-bit channel values x1000. */
function encodeV1(dev: { voltage: number; rssi: number; msgId: number; error: number }, channels: number[]): string {
  const le16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
  const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const bytes = [
    ...le16(dev.voltage),
    ...le16(dev.rssi),
    ...le16(dev.msgId),
    ...le16(dev.error),
    ...channels.flatMap((c) => le32(c)),
  ];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('conduit V1 uplink decoder', () => {
  it('decodes the published example 0A10010001000000A00F0000 as 4106, 1, 1, 0 and channel 1 = 4.0', () => {
    expect(decodeV1('0A10010001000000A00F0000')).toEqual([
      { channelId: 255, value: 4106 },
      { channelId: 254, value: 1 },
      { channelId: 253, value: 1 },
      { channelId: 252, value: 0 },
      { channelId: 1, value: 4 },
    ]);
  });

  it('round-trips any device values and up to 32 signed channel values (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          voltage: fc.nat(0xffff),
          rssi: fc.integer({ min: -0x8000, max: 0x7fff }),
          msgId: fc.nat(0xffff),
          error: fc.nat(0xffff),
        }),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 32 }),
        fc.boolean(),
        (dev, chs, upper) => {
          const hex = encodeV1(dev, chs);
          const got = decodeV1(upper ? hex.toUpperCase() : hex);
          expect(got).toEqual([
            { channelId: 255, value: dev.voltage },
            { channelId: 254, value: dev.rssi },
            { channelId: 253, value: dev.msgId },
            { channelId: 252, value: dev.error },
            ...chs.map((v, i) => ({ channelId: i + 1, value: v / 1000 })),
          ]);
        },
      ),
    );
  });

  it('refuses malformed hex, a length that is not 8 + 4n bytes and more than 32 channels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }).filter((n) => n < 8 || (n - 8) % 4 !== 0),
        (n) => {
          expect(() => decodeV1('00'.repeat(n))).toThrow(/bytes/);
        },
      ),
    );
    expect(() => decodeV1('0A1G010001000000')).toThrow(/hex/);
    expect(() => decodeV1('0A10010001000000A')).toThrow(/hex/);
    expect(() => decodeV1('00'.repeat(8 + 4 * 33))).toThrow(/33 channels/);
    expect(decodeV1('00'.repeat(8 + 4 * 32))).toHaveLength(36);
  });
});
