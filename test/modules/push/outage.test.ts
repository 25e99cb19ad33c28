/**
 * Push while its PostgreSQL is down (issue 17, faults): a private server of its own (the run's
 * shared one keeps serving the other files), stopped and started again under the app. Polls that need
 * the database and results answer 503 + Retry-After in the device shape, operator writes in the core
 * shape, never 500; an empty poll still answers from memory; after the restart the same app delivers
 * again and its LISTEN connection is back (a command queued by another process reaches its index).
 * Only in the PostgreSQL run.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { PgStore, PgWriter } from '../../../src/core/pg.js';
import { writesPg } from '../../../src/modules/push/writes-pg.js';
import { ADMIN, build } from '../../helpers/app.js';
import { onPostgres } from '../../helpers/driver.js';
import { Postgres } from '../../helpers/postgres.js';
import { command, enqueue, enqueueOk } from './helpers.js';
import { http, SimDevice, sleep } from './sim.js';

async function until(fn: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 45_000;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`never reached: ${what}`);
    await sleep(50);
  }
}

describe.skipIf(!onPostgres)('push while PostgreSQL is down', () => {
  it('503 + Retry-After in each shape during the outage, empty polls from memory, delivery and notifications again after it', async () => {
    const server = await Postgres.start();
    onTestFinished(() => server.stop());
    const t = await build({
      store: { driver: 'postgres', url: server.url(), pool: { connectionTimeoutMs: 1000 } },
      push: { resultTimeoutSeconds: 60, lastSeenFlushMs: 60_000 },
    });
    await t.listen();
    const id = await enqueueOk(t.url, '9', { endpoint: 'a' });
    const idle = new SimDevice(t.url, '10');
    expect((await idle.poll()).text).toBe('');

    server.stopServer();
    const poll = await http(`${t.url}/push?deviceId=9`);
    expect(poll.status).toBe(503);
    expect(poll.headers['retry-after']).toBe('5');
    expect(JSON.parse(poll.text)).toEqual({ error: expect.any(String) });
    const result = await http(`${t.url}/result?deviceId=9`, { method: 'POST', body: '{"response":"x"}' });
    expect(result.status).toBe(503);
    expect(JSON.parse(result.text)).toEqual({ error: expect.any(String) });
    const queued = await enqueue(t.url, '9', { endpoint: 'b' });
    expect(queued.status).toBe(503);
    expect(queued.headers['retry-after']).toBe('5');
    expect(JSON.parse(queued.text)).toMatchObject({ statusCode: 503 });
    expect((await idle.poll()).text).toBe(''); // nothing queued for it: memory, no database
    expect(t.logs.text).not.toContain(server.password);

    server.restartServer();
    const dev = new SimDevice(t.url, '9');
    let got: string | undefined;
    await until(async () => {
      const r = await http(`${t.url}/push?deviceId=9`);
      if (r.status === 200 && r.text) got = (JSON.parse(r.text) as { uuid: string }).uuid;
      return got !== undefined;
    }, 'a delivery after the restart');
    expect(got).toBe(id);
    expect((await dev.result('{"response":"ok"}')).status).toBe(200);
    expect(await command(t.url, id)).toMatchObject({ status: 'done', attempts: 1 });

    // another process queues (as the CLI does): its NOTIFY reaches the app over the re-established LISTEN
    const other = await PgStore.open({ url: server.url() });
    onTestFinished(() => other.close());
    const opts = { defaultMaxAttempts: 3, register: true, bodyEncoding: 'string' as const, now: Date.now() };
    const [row] = (
      await new PgWriter(other, writesPg()).run<Array<{ id: string }>>('push.enqueue', {
        deviceIds: ['10'],
        spec: { endpoint: 'c' },
        opts,
      })
    ).value;
    await until(async () => (await idle.poll()).command?.uuid === row!.id, 'the idle device gets the command');
    expect((await http(`${t.url}/admin/push/commands/${row!.id}`, { headers: ADMIN })).status).toBe(200);
  });
});
