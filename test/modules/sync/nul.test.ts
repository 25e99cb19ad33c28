/**
 * A NUL in a device's text (found by the resilience fuzz on PostgreSQL, where no text column holds
 * one): the payload is processed on both drivers, and the device reads back as it came (PostgreSQL:
 * the column is NULL, the exact value is in `fields`). A NUL in devMac: SQLite keeps that device;
 * PostgreSQL cannot key it and skips it, said in the "Processed" notification.
 */
import { describe, expect, it } from 'vitest';
import { encryptData } from '../../../src/modules/sync/crypto.js';
import { closesItself } from '../../helpers/app.js';
import { onPostgres } from '../../helpers/driver.js';
import { AUTH, device, form, notifications, processNow, sql, syncApp } from './helpers.js';

describe('sync processing: a NUL in a device', () => {
  it('processes the payload; the device with a NUL in its name, vendor, IP reads back byte-exact', async () => {
    const t = closesItself(await syncApp({ encryptionKey: 'nul-key' }));
    const post = async (devs: Array<Record<string, unknown>>) => {
      const data = encryptData(JSON.stringify({ data: devs }), 'nul-key');
      const r = await t.app.inject({
        method: 'POST',
        url: '/sync',
        ...form({ data, node_name: 'N1', plugin: 'SYNC' }),
      });
      expect(r.statusCode, r.body).toBe(200);
    };
    await post([
      device(1, {
        devName: 'a\u0000b',
        devVendor: 'v\u0000',
        devLastIP: '10.0.0.1\u0000',
        devLastConnection: '\u0000',
      }),
      device(2),
      device(3, { devMac: 'aa:bb:cc:00:00:0\u0000' }),
    ]);
    await processNow(t);
    expect((await sql<{ status: string }>(t, 'SELECT status FROM sync_received')).map((r) => r.status)).toEqual([
      'processed',
    ]);
    const r = await t.app.inject({ url: '/sync/devices', headers: AUTH });
    expect(r.statusCode).toBe(200);
    const devs = r.json<{ devices: Array<Record<string, unknown>> }>().devices;
    const one = devs.find((d) => d.devMac === 'aa:bb:cc:00:00:01');
    expect(one).toMatchObject({
      devName: 'a\u0000b',
      devVendor: 'v\u0000',
      devLastIP: '10.0.0.1\u0000',
      devLastConnection: '\u0000',
    });
    expect(devs.some((d) => d.devMac === 'aa:bb:cc:00:00:02')).toBe(true);
    expect(devs.some((d) => d.devMac === 'aa:bb:cc:00:00:0\u0000')).toBe(!onPostgres);
    const processed = (await notifications(t)).find((n) => n.text.includes('Processed'));
    expect(processed?.text).toContain(onPostgres ? 'inserted "2" new devices' : 'inserted "3" new devices');
    if (onPostgres) expect(processed?.text).toContain('1 skipped (a NUL in devMac)');

    // again, over the stored device (merge): still processed, still the same record
    await post([
      device(1, {
        devName: 'a\u0000b',
        devVendor: 'v\u0000',
        devLastIP: '10.0.0.1\u0000',
        devLastConnection: '\u0000',
      }),
    ]);
    await processNow(t);
    expect(await sql<{ status: string }>(t, "SELECT status FROM sync_received WHERE status <> 'processed'")).toEqual(
      [],
    );
    const again = (await t.app.inject({ url: '/sync/devices', headers: AUTH }))
      .json<{ devices: Array<Record<string, unknown>> }>()
      .devices.find((d) => d.devMac === 'aa:bb:cc:00:00:01');
    expect(again).toMatchObject({ devName: 'a\u0000b', devVendor: 'v\u0000' });
  });
});
