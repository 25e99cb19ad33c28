/**
 * Two fieldhub replicas on one PostgreSQL database (issue 17): the apps are built with the same
 * explicit `store: { driver: 'postgres', url }`, each with its own data dir, as two processes behind a
 * load balancer would be. Only in the PostgreSQL run (vitest.pg.config.ts); skipped on SQLite, where
 * one process owns the file. No assertion on elapsed time: the waits poll until a state is reached,
 * and the replicas' periodic reload is pushed beyond the test (lastSeenFlushMs 60 s x 30 ticks), so
 * what a replica learns of the other's writes it learns from LISTEN/NOTIFY.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, build, tempDir, type TestApp } from '../../helpers/app.js';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';
import { ControlIdDevice } from '../../sim/controlid-device.js';
import { command, enqueueOk, rows } from './helpers.js';
import { http, sleep } from './sim.js';

async function replicas(push: Record<string, unknown> = {}): Promise<[TestApp, TestApp]> {
  const store = { driver: 'postgres', url: pgUrlFor(tempDir()) };
  const cfg = { store, push: { resultTimeoutSeconds: 60, lastSeenFlushMs: 60_000, ...push } };
  const a = await build(cfg);
  const b = await build(cfg);
  await a.listen();
  await b.listen();
  return [a, b];
}

const device = (t: TestApp, deviceId: string) =>
  new ControlIdDevice({ remoteAddress: t.url, deviceId, requestPeriodSeconds: 0.05, requestTimeoutMs: 30_000 });

interface DeviceView {
  deviceId: string;
  queued: number;
  inFlight: boolean;
}

async function deviceView(t: TestApp, id: string): Promise<DeviceView | undefined> {
  const r = await http(`${t.url}/admin/push/devices?q=${id}`, { headers: ADMIN });
  return (JSON.parse(r.text) as { devices: DeviceView[] }).devices.find((d) => d.deviceId === id);
}

/** Polls `fn` until it holds (a state reached, not a time measured); fails after 30 s. */
async function until(fn: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`never reached: ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!onPostgres)('push on two replicas of one PostgreSQL database', () => {
  it('a command queued on A is delivered by a poll on B; its result posted to A completes it (and wakes a wait on A)', async () => {
    const [a, b] = await replicas();
    const ids = [
      await enqueueOk(a.url, '3206485144263533', { endpoint: 'create_objects', body: { object: 'users' } }),
      await enqueueOk(a.url, '3206485144263533', { endpoint: 'load_objects' }),
    ];
    const dev = device(b, '3206485144263533');
    let got: Awaited<ReturnType<ControlIdDevice['poll']>> = {};
    await until(async () => {
      got = await dev.poll();
      return got.command !== undefined;
    }, 'B delivers the command queued on A');
    expect(got.command).toMatchObject({ endpoint: 'create_objects', uuid: ids[0] });
    expect(await command(a.url, ids[0]!)).toMatchObject({ status: 'delivered', attempts: 1 });

    // an operator on A waits for the command; the device answers on A (the load balancer sent it there)
    const waiting = http(`${a.url}/admin/push/commands/${ids[0]}?waitSeconds=60`, { headers: ADMIN });
    await sleep(50);
    const { ok, answer } = dev.execute(got.command!);
    dev.remoteAddress = a.url;
    expect((await dev.report(got.command!, got.deviceUuid, ok, answer)).acked).toBe(true);
    const waited = await waiting;
    expect(JSON.parse(waited.text)).toMatchObject({ id: ids[0], status: 'done', resultUuid: got.deviceUuid });
    expect(await command(b.url, ids[0]!)).toMatchObject({ status: 'done', response: JSON.parse(answer) as unknown });

    // B learns that nothing is in flight any more: its next poll delivers the second command
    dev.remoteAddress = b.url;
    await until(async () => (await deviceView(b, '3206485144263533'))?.inFlight === false, 'B sees the completion');
    expect((await dev.poll()).command?.uuid).toBe(ids[1]);
    expect(await rows(a.app, 'SELECT COUNT(*) AS n FROM push_unmatched_results')).toEqual([{ n: 0 }]);
  });

  it('20 concurrent polls of one device spread over A and B get exactly one command, round after round', async () => {
    const [a, b] = await replicas();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await enqueueOk(i % 2 ? a.url : b.url, '77', { endpoint: `c${i}` }));
    const onA = device(a, '77');
    const onB = device(b, '77');
    for (let round = 0; round < 5; round++) {
      // both replicas' indexes say there is work (else a replica would answer empty from memory)
      for (const t of [a, b])
        await until(async () => {
          const v = await deviceView(t, '77');
          return v !== undefined && v.queued === 5 - round && !v.inFlight;
        }, `round ${round}: both replicas see the queue`);
      const polls = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? onA : onB).poll()));
      const got = polls.flatMap((p) => (p.command ? [p] : []));
      expect(got.map((p) => p.command!.uuid)).toEqual([ids[round]]);
      const { ok, answer } = onA.execute(got[0]!.command!);
      // the result goes to A and B in turn, whichever of them delivered
      expect((await (round % 2 ? onA : onB).report(got[0]!.command!, got[0]!.deviceUuid, ok, answer)).acked).toBe(true);
      expect(await command(a.url, ids[round]!)).toMatchObject({ status: 'done', attempts: 1 });
    }
    expect(
      await rows(
        a.app,
        'SELECT command_seq, COUNT(*) AS n FROM push_deliveries GROUP BY command_seq HAVING COUNT(*) > 1',
      ),
    ).toEqual([]);
    expect(await rows(b.app, "SELECT COUNT(*) AS n FROM push_commands WHERE status = 'done'")).toEqual([{ n: 5 }]);
  });

  it("A's empty poll, answered from memory, notices a command queued on B", async () => {
    const [a, b] = await replicas();
    const dev = device(a, '4242');
    expect((await dev.poll()).command).toBeUndefined(); // A knows the device now, with nothing queued
    const id = await enqueueOk(b.url, '4242', { endpoint: 'reboot' });
    let got: string | undefined;
    await until(async () => {
      got = (await dev.poll()).command?.uuid;
      return got !== undefined;
    }, 'A delivers the command queued on B');
    expect(got).toBe(id);
    expect(await command(b.url, id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a device registered on A may poll B (allowUnknownDevices false); a cancel on B is seen by A', async () => {
    const [a, b] = await replicas({ allowUnknownDevices: false });
    expect((await http(`${b.url}/push?deviceId=55`)).status).toBe(403);
    expect((await http(`${a.url}/admin/push/devices/55`, { method: 'PUT', headers: ADMIN })).status).toBe(201);
    await until(async () => (await http(`${b.url}/push?deviceId=55`)).status === 200, 'B knows the device');
    const id = await enqueueOk(a.url, '55', { endpoint: 'x' });
    expect((await http(`${b.url}/admin/push/commands/${id}`, { method: 'DELETE', headers: ADMIN })).status).toBe(200);
    await until(async () => (await deviceView(a, '55'))?.queued === 0, 'A sees the cancel');
    expect((await http(`${a.url}/push?deviceId=55`)).text).toBe('');
    expect(await command(a.url, id)).toMatchObject({ status: 'cancelled' });
  });

  it('a replica whose LISTEN connection was lost reloads the queue state when it reconnects', async () => {
    const [a] = await replicas();
    const dev = device(a, '88');
    expect((await http(`${a.url}/admin/push/devices/88`, { method: 'PUT', headers: ADMIN })).status).toBe(201);
    expect((await dev.poll()).command).toBeUndefined();
    // a command committed without a NOTIFY: as one sent while A's listen connection was down
    const at = new Date().toISOString();
    await rows(
      a.app,
      `WITH c AS (INSERT INTO push_commands (id, device_id, endpoint, payload, status, max_attempts, created_at, body_encoding)
                  VALUES ('lost-notify', '88', 'x', '{"endpoint":"x","uuid":"lost-notify"}', 'queued', 3, ?, 'string') RETURNING seq)
       INSERT INTO push_command_events (command_seq, at, status, attempt) SELECT seq, ?, 'queued', 0 FROM c`,
      at,
      at,
    );
    await rows(
      a.app,
      "INSERT INTO push_queue (device_id, version) VALUES ('88', 1) ON CONFLICT (device_id) DO UPDATE SET version = push_queue.version + 1",
    );
    expect((await dev.poll()).command).toBeUndefined(); // A's memory does not know of it
    await rows(
      a.app,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'fieldhub listen'",
    );
    let got: string | undefined;
    await until(async () => {
      got = (await dev.poll()).command?.uuid;
      return got !== undefined;
    }, 'A reloads after reconnecting and delivers');
    expect(got).toBe('lost-notify');
    expect(a.logs.text).toMatch(/queue notifications reconnected/);
  });
});
