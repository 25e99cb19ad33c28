/**
 * 1,000 commands to 100 devices of the firmware simulator (half of them in the older plain mode):
 * every command done exactly once, executed once, the device's answer stored byte-exact.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, makeApp, closesItself } from '../../helpers/app.js';
import { ControlIdDevice } from '../../sim/controlid-device.js';
import { row, rows } from './helpers.js';
import { http, sleep } from './sim.js';

describe('push with 100 Control iD devices (firmware simulator)', () => {
  it('1,000 commands, uuid and plain devices mixed: each done exactly once, answers byte-exact', async () => {
    const t = closesItself(
      await makeApp({ push: { resultTimeoutSeconds: 60, lastSeenFlushMs: 200 }, server: { logLevel: 'warn' } }),
    );
    const url = await t.listen();
    const ids = Array.from({ length: 100 }, (_, i) => String(3206485144263533n + BigInt(i))); // 16-digit, as in the field
    // a generous request timeout: a poll answer lost to a client timeout would (rightly) be redelivered later
    const devices = ids.map(
      (id, i) =>
        new ControlIdDevice({
          remoteAddress: url,
          deviceId: id,
          mode: i % 2 === 0 ? 'firmware' : 'plain',
          requestPeriodSeconds: 0.05 + (i % 5) * 0.03,
          requestTimeoutMs: 30_000,
        }),
    );
    const PER_DEVICE = 10;
    const queued: Array<{ deviceId: string; id: string }> = [];
    const bulk = async (k: number) => {
      const body = k % 3 === 0 ? { object: 'users', values: [{ name: `user ${k}`, registration: `r${k}` }] } : { k };
      const r = await http(`${url}/admin/push/commands`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify({
          deviceIds: ids,
          endpoint: k % 2 ? 'create_objects' : 'load_objects',
          body,
          ...(k === 4 ? { bodyEncoding: 'object' } : {}),
        }),
      });
      expect(r.status).toBe(201);
      queued.push(...(JSON.parse(r.text) as { commands: Array<{ deviceId: string; id: string }> }).commands);
    };
    for (let k = 0; k < PER_DEVICE / 2; k++) await bulk(k);
    let stop = false;
    const loops = devices.map((d) => d.run(() => stop));
    await sleep(200);
    for (let k = PER_DEVICE / 2; k < PER_DEVICE; k++) await bulk(k); // queued while the devices poll
    const total = () => devices.reduce((n, d) => n + d.executions.length, 0);
    const deadline = Date.now() + 100_000;
    while (total() < ids.length * PER_DEVICE && Date.now() < deadline) await sleep(50);
    await sleep(300); // a few more polls each: nothing else may arrive
    stop = true;
    await Promise.all(loops);
    expect(queued).toHaveLength(1000);
    expect(devices.reduce((n, d) => n + d.stats.connectionErrors, 0)).toBe(0);

    expect(
      await rows(
        t.app,
        'SELECT status, COUNT(*) AS n, MAX(attempts) AS "maxAttempts" FROM push_commands GROUP BY status',
      ),
    ).toEqual([{ status: 'done', n: 1000, maxAttempts: 1 }]);
    expect(await row(t.app, 'SELECT COUNT(*) AS n FROM push_unmatched_results')).toEqual({ n: 0 });
    expect(await row(t.app, "SELECT COUNT(*) AS n FROM push_command_events WHERE status = 'done'")).toEqual({
      n: 1000,
    });
    const stored = new Map(
      (
        (await rows(
          t.app,
          'SELECT id, device_id, response, response_encoding, result_uuid, result_endpoint FROM push_commands',
        )) as Array<Record<string, string | null>>
      ).map((r) => [r.id!, r]),
    );
    for (const d of devices) {
      const expected = queued.filter((c) => c.deviceId === d.deviceId).map((c) => c.id);
      // every command executed once by its device, in queue order, and every result acknowledged
      expect(
        d.executions.map((e) => e.command.uuid),
        d.deviceId,
      ).toEqual(expected);
      expect(d.executions.every((e) => e.acked && e.ok)).toBe(true);
      for (const e of d.executions) {
        const row = stored.get(e.command.uuid!)!;
        if (d.mode === 'firmware') {
          expect(row).toMatchObject({
            response: e.answer,
            response_encoding: 'string',
            result_uuid: e.deviceUuid,
            result_endpoint: e.command.endpoint,
          });
        } else {
          expect(row).toMatchObject({
            response: JSON.stringify(JSON.parse(e.answer)),
            response_encoding: 'json',
            result_uuid: null,
          });
        }
      }
      // the default encoding sends the body as a JSON string, the per-command override as the object
      expect(d.executions.map((e) => typeof e.command.body)).toEqual(
        Array.from({ length: PER_DEVICE }, (_, k) => (k === 4 ? 'object' : 'string')),
      );
    }
    // the operator API gives the parsed answer and the text as the device sent it
    const one = devices[0]!.executions[3]!;
    const view = JSON.parse(
      (await http(`${url}/admin/push/commands/${one.command.uuid}`, { headers: ADMIN })).text,
    ) as Record<string, unknown>;
    expect(view).toMatchObject({
      status: 'done',
      response: JSON.parse(one.answer),
      responseRaw: one.answer,
      responseEncoding: 'string',
      resultUuid: one.deviceUuid,
    });
    expect(view.deliveries).toEqual([{ attempt: 1, at: expect.any(String), deviceUuid: one.deviceUuid }]);
  }, 120_000);
});
