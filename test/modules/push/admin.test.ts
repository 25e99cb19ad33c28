/** The operator API: auth, validation, bulk queueing, listings, long-poll, metrics. */
import { describe, expect, it } from 'vitest';
import { ADMIN, makeApp, type TestApp, closesItself } from '../../helpers/app.js';
import { command, enqueue, enqueueOk, row } from './helpers.js';
import { http, SimDevice, sleep } from './sim.js';

let t: TestApp | undefined;

async function start(push: Record<string, unknown> = {}) {
  t = closesItself(await makeApp({ push }));
  return t.listen();
}

const post = (url: string, body: unknown) =>
  http(url, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('push operator API', () => {
  it('requires the admin token on every route', async () => {
    const url = await start();
    const routes: Array<[string, string]> = [
      ['GET', '/admin/push/devices'],
      ['PUT', '/admin/push/devices/1'],
      ['POST', '/admin/push/devices/1/commands'],
      ['GET', '/admin/push/devices/1/commands'],
      ['POST', '/admin/push/commands'],
      ['GET', '/admin/push/commands/x'],
      ['DELETE', '/admin/push/commands/x'],
    ];
    for (const [method, path] of routes) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
        const r = await http(`${url}${path}`, {
          method,
          headers: { ...headers, 'content-type': 'application/json' },
          body: method === 'POST' ? '{"endpoint":"x"}' : undefined,
        });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(JSON.parse(r.text)).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      }
    }
    expect(await row(t!.app, 'SELECT COUNT(*) AS n FROM push_commands')).toEqual({ n: 0 });
  });

  it('validates commands and answers 400 in the core shape, writing nothing', async () => {
    const url = await start();
    const bad: Array<[Record<string, unknown>, Array<string | number>]> = [
      [{}, ['body', 'endpoint']],
      [{ endpoint: '../etc/passwd' }, ['body', 'endpoint']],
      [{ endpoint: 'a b' }, ['body', 'endpoint']],
      [{ endpoint: 'x'.repeat(129) }, ['body', 'endpoint']],
      [{ endpoint: 'x', verb: 'DELETE' }, ['body', 'verb']],
      [{ endpoint: 'x', contentType: 'not a type' }, ['body', 'contentType']],
      [{ endpoint: 'x', contentType: 'text/plain', body: { a: 1 } }, ['body', 'body']],
      [{ endpoint: 'x', queryString: 'a=1 b' }, ['body', 'queryString']],
      [{ endpoint: 'x', maxAttempts: 0 }, ['body', 'maxAttempts']],
      [{ endpoint: 'x', expiresAt: 'tomorrow' }, ['body', 'expiresAt']],
      [{ endpoint: 'x', extra: 1 }, ['body']],
    ];
    for (const [body, loc] of bad) {
      const r = await enqueue(url, '1', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const j = JSON.parse(r.text);
      expect(j).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(j.validation[0].loc, JSON.stringify(body)).toEqual(loc);
    }
    const notJson = await http(`${url}/admin/push/devices/1/commands`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: '{"endpoint":',
    });
    expect(notJson.status).toBe(400);
    expect((await enqueue(url, '9223372036854775808', { endpoint: 'x' })).status).toBe(400);
    expect((await post(`${url}/admin/push/commands`, { deviceIds: [], endpoint: 'x' })).status).toBe(400);
    expect((await post(`${url}/admin/push/commands`, { deviceIds: ['1', 'abc'], endpoint: 'x' })).status).toBe(400);
    expect(await row(t!.app, 'SELECT COUNT(*) AS n FROM push_commands')).toEqual({ n: 0 });
    // a text body for a text content type is fine, any JSON value for JSON
    expect((await enqueue(url, '1', { endpoint: 'x', contentType: 'text/plain', body: 'hello' })).status).toBe(201);
    expect((await enqueue(url, '1', { endpoint: 'x', body: [1, 'two', null] })).status).toBe(201);
  });

  it('queues one command to many devices in one transaction (all or nothing)', async () => {
    const url = await start({ allowUnknownDevices: false });
    for (const id of ['1', '2'])
      expect((await http(`${url}/admin/push/devices/${id}`, { method: 'PUT', headers: ADMIN })).status).toBe(201);
    const refused = await post(`${url}/admin/push/commands`, { deviceIds: ['1', '2', '3'], endpoint: 'x' });
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.text).message).toMatch(/device 3 is not registered/);
    expect(await row(t!.app, 'SELECT COUNT(*) AS n FROM push_commands')).toEqual({ n: 0 });
    const ok = await post(`${url}/admin/push/commands`, {
      deviceIds: ['1', '2'],
      endpoint: 'load_objects',
      body: { object: 'users' },
    });
    expect(ok.status).toBe(201);
    const cmds = JSON.parse(ok.text).commands as Array<{ deviceId: string; id: string; status: string }>;
    expect(cmds.map((c) => [c.deviceId, c.status])).toEqual([
      ['1', 'queued'],
      ['2', 'queued'],
    ]);
    for (const c of cmds) expect((await new SimDevice(url, c.deviceId).poll()).command?.uuid).toBe(c.id);
  });

  it("lists a device's commands in queue order, filtered by status, and devices with online state", async () => {
    const url = await start({ pollPeriodSeconds: 0.5 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await enqueueOk(url, '3', { endpoint: `c${i}` }));
    const dev = new SimDevice(url, '3');
    await dev.step();
    await dev.poll();
    const list = async (q: string) =>
      (
        JSON.parse((await http(`${url}/admin/push/devices/3/commands${q}`, { headers: ADMIN })).text) as {
          commands: Array<{ id: string; status: string }>;
        }
      ).commands;
    expect((await list('')).map((c) => [c.id, c.status])).toEqual([
      [ids[0], 'done'],
      [ids[1], 'delivered'],
      [ids[2], 'queued'],
      [ids[3], 'queued'],
      [ids[4], 'queued'],
    ]);
    expect((await list('?status=queued&limit=2')).map((c) => c.id)).toEqual([ids[2], ids[3]]);
    expect((await list('?status=queued&limit=2&offset=2')).map((c) => c.id)).toEqual([ids[4]]);
    expect((await http(`${url}/admin/push/devices/3/commands?status=bogus`, { headers: ADMIN })).status).toBe(400);
    const devices = async () =>
      (
        JSON.parse((await http(`${url}/admin/push/devices`, { headers: ADMIN })).text) as {
          devices: Array<Record<string, unknown>>;
        }
      ).devices;
    expect(await devices()).toEqual([
      expect.objectContaining({ deviceId: '3', online: true, queued: 3, inFlight: true }),
    ]);
    await sleep(1600); // more than 3 poll periods
    expect(await devices()).toEqual([expect.objectContaining({ deviceId: '3', online: false })]);
  });

  it('GET /commands/{id}?waitSeconds=N returns when the command finishes, or after N seconds', async () => {
    const url = await start();
    const id = await enqueueOk(url, '4', { endpoint: 'x' });
    const dev = new SimDevice(url, '4');
    const waiting = command(url, id, '?waitSeconds=10');
    await sleep(100);
    await dev.poll();
    await sleep(100);
    await dev.result('{"response":{"ok":true}}');
    const c = await waiting;
    // 'done' proves the wait ended on the result, not on its 10 s deadline (then it would still be in flight)
    expect(c).toMatchObject({ status: 'done', response: { ok: true } });
    const other = await enqueueOk(url, '4', { endpoint: 'y' });
    const t1 = Date.now();
    expect(await command(url, other, '?waitSeconds=0.3')).toMatchObject({ status: 'queued' });
    // a lower bound only (a loaded machine makes it longer, never shorter): the wait did wait
    expect(Date.now() - t1).toBeGreaterThanOrEqual(250);
    expect((await http(`${url}/admin/push/commands/${other}?waitSeconds=61`, { headers: ADMIN })).status).toBe(400);
    expect((await http(`${url}/admin/push/commands/nope`, { headers: ADMIN })).status).toBe(404);
  });

  it('exports queue depth, in-flight, results by status, polls and devices online', async () => {
    const url = await start();
    await enqueueOk(url, '5', { endpoint: 'a' });
    await enqueueOk(url, '5', { endpoint: 'b' });
    await enqueueOk(url, '6', { endpoint: 'c' });
    const dev = new SimDevice(url, '5');
    await dev.step();
    await dev.poll();
    await new SimDevice(url, '7').poll();
    const m = await (await fetch(`${url}/metrics`)).text();
    expect(m).toMatch(/^fieldhub_push_queue_depth 1$/m);
    expect(m).toMatch(/^fieldhub_push_in_flight 1$/m);
    expect(m).toMatch(/^fieldhub_push_results_total\{status="done"\} 1$/m);
    expect(m).toMatch(/^fieldhub_push_polls_total 3$/m);
    expect(m).toMatch(/^fieldhub_push_devices_online 2$/m);
    expect(m).toMatch(/^fieldhub_push_devices 3$/m);
  });

  it('documents the device and operator routes in OpenAPI', async () => {
    await start();
    const spec = (await t!.app.inject('/docs/json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    for (const p of [
      '/push',
      '/result',
      '/admin/push/devices',
      '/admin/push/devices/{deviceId}/commands',
      '/admin/push/commands',
      '/admin/push/commands/{id}',
    ]) {
      expect(spec.paths[p], p).toBeDefined();
    }
    expect(JSON.stringify(spec.paths['/admin/push/devices/{deviceId}/commands'])).toContain('endpoint');
  });
});
