/** A restart in the middle loses nothing; last-seen is coalesced in memory and flushed (timer, close). */
import { describe, expect, it } from 'vitest';
import { ADMIN, makeApp, tempDir, closesItself } from '../../helpers/app.js';
import { command, enqueueOk, row } from './helpers.js';
import { http, SimDevice, sleep } from './sim.js';

async function boot(dataDir: string, push: Record<string, unknown> = {}) {
  const t = await makeApp({ push: { resultTimeoutSeconds: 0.3, ...push } }, { dataDir });
  closesItself(t);
  await t.listen();
  return t;
}

describe('push across a restart', () => {
  it('keeps the queue and in-flight state: in-flight answered after restart, unanswered redelivered, nothing lost or duplicated', async () => {
    const dataDir = tempDir();
    const t1 = await boot(dataDir, { resultTimeoutSeconds: 2 });
    const a: string[] = [];
    const b: string[] = [];
    for (let i = 0; i < 10; i++) a.push(await enqueueOk(t1.url, '30', { endpoint: `a${i}` }));
    for (let i = 0; i < 5; i++) b.push(await enqueueOk(t1.url, '31', { endpoint: `b${i}` }));
    const devA = new SimDevice(t1.url, '30');
    const devB = new SimDevice(t1.url, '31');
    const seenA: string[] = [];
    for (let i = 0; i < 3; i++) seenA.push((await devA.step())!.uuid);
    const inFlightA = (await devA.poll()).command!.uuid; // executed, but the answer comes after the restart
    const lostB = (await devB.poll()).command!.uuid; // this device lost the command: never answers it
    const lostAt = Date.now();
    await t1.app.close();

    const t2 = await boot(dataDir, { resultTimeoutSeconds: 2 });
    devA.base = t2.url;
    devB.base = t2.url;
    expect((await devA.result('{"response":"after restart"}')).status).toBe(200);
    seenA.push(inFlightA);
    for (let c = await devA.step(); c; c = await devA.step()) seenA.push(c.uuid);
    expect(seenA).toEqual(a);
    expect(await command(t2.url, inFlightA)).toMatchObject({ status: 'done', response: 'after restart', attempts: 1 });

    expect((await devB.poll()).text).toBe(''); // still in flight within its timeout (the deadline is in the store)
    await sleep(Math.max(0, lostAt + 2100 - Date.now()));
    const seenB: string[] = [lostB];
    for (let c = await devB.step(); c; c = await devB.step()) seenB.push(c.uuid);
    expect(seenB).toEqual([b[0], ...b]); // b0 before the restart, b0 redelivered (at least once), then the rest in order
    expect(await command(t2.url, lostB)).toMatchObject({ status: 'done', attempts: 2 });

    expect(await row(t2.app, "SELECT COUNT(*) AS n FROM push_commands WHERE status = 'done'")).toEqual({ n: 15 });
    expect(await row(t2.app, 'SELECT COUNT(*) AS n FROM push_unmatched_results')).toEqual({ n: 0 });
    const done = await row(t2.app, "SELECT COUNT(*) AS n FROM push_command_events WHERE status = 'done'");
    expect(done).toEqual({ n: 15 });
  });

  it('an empty poll writes nothing to disk; last-seen is flushed by the timer and on close', async () => {
    const dataDir = tempDir();
    const t1 = await boot(dataDir, { lastSeenFlushMs: 60_000 });
    const beforePoll = new Date().toISOString();
    await new SimDevice(t1.url, '40').poll();
    expect(
      await row(t1.app, "SELECT last_seen_at, last_address FROM push_devices WHERE device_id = '40'"),
    ).toBeUndefined();
    const listed = JSON.parse((await http(`${t1.url}/admin/push/devices`, { headers: ADMIN })).text) as {
      devices: unknown[];
    };
    expect(listed.devices).toEqual([expect.objectContaining({ deviceId: '40', online: true, address: '127.0.0.1' })]);
    await t1.app.close();
    const afterClose = new Date().toISOString();
    const t2 = await boot(dataDir, { lastSeenFlushMs: 50 });
    const stored = (await row(
      t2.app,
      "SELECT last_seen_at, last_address FROM push_devices WHERE device_id = '40'",
    )) as {
      last_seen_at: string;
    };
    expect(stored).toMatchObject({ last_address: '127.0.0.1' });
    // the flushed time is the poll's own: after the poll started, before the close ended (order, not elapsed time)
    expect(stored.last_seen_at >= beforePoll && stored.last_seen_at <= afterClose).toBe(true);
    await new SimDevice(t2.url, '41').poll();
    await sleep(200);
    expect(await row(t2.app, "SELECT device_id FROM push_devices WHERE device_id = '41'")).toEqual({
      device_id: '41',
    });
  });

  it('close() releases a waiting long-poll at once', async () => {
    const t = await boot(tempDir());
    const id = await enqueueOk(t.url, '50', { endpoint: 'x' });
    const pending = http(`${t.url}/admin/push/commands/${id}?waitSeconds=60`, { headers: ADMIN });
    await sleep(100);
    await t.app.close();
    // order: the close answers the wait, long before the wait's own 60 s deadline would
    const first = await Promise.race([pending, sleep(45_000).then(() => 'deadline' as const)]);
    expect(first).not.toBe('deadline');
    const r = await pending;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ id, status: 'queued' });
  });
});
