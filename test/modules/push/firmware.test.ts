/** Devices as the firmware behaves: own uuid, endpoint on /result, path prefixes, body encoding, bad uuids. */
import { describe, expect, it } from 'vitest';
import { makeApp, tempDir, type TestApp, closesItself } from '../../helpers/app.js';
import { ControlIdDevice } from '../../sim/controlid-device.js';
import { command, enqueueOk, row, rows } from './helpers.js';
import { http, sleep } from './sim.js';

async function start(push: Record<string, unknown> = {}, dataDir?: string) {
  const t = await makeApp({ push: { resultTimeoutSeconds: 60, ...push } }, { dataDir });
  closesItself(t);
  await t.listen();
  return t;
}

const device = (remoteAddress: string, deviceId: string, mode: 'firmware' | 'plain' = 'firmware') =>
  new ControlIdDevice({ remoteAddress, deviceId, mode, requestPeriodSeconds: 0.05, requestTimeoutMs: 30_000 });

const unmatched = (t: TestApp) =>
  rows(t.app, 'SELECT command_id, reason, endpoint FROM push_unmatched_results ORDER BY id');

describe('push with Control iD firmware', () => {
  it('a restart between poll and result still completes the command from the device uuid', async () => {
    const dataDir = tempDir();
    const t1 = await start({}, dataDir);
    const id = await enqueueOk(t1.url, '3206485144263533', {
      endpoint: 'create_objects',
      body: { object: 'users', values: [{ name: 'Walter' }] },
    });
    const dev = device(t1.url, '3206485144263533');
    const { command: c, deviceUuid } = await dev.poll();
    expect(c).toMatchObject({ endpoint: 'create_objects', body: '{"object":"users","values":[{"name":"Walter"}]}' });
    const { ok, answer } = dev.execute(c!);
    await t1.app.close();

    const t2 = await start({}, dataDir);
    dev.remoteAddress = t2.url;
    const r = await dev.report(c!, deviceUuid, ok, answer);
    expect(r.acked).toBe(true);
    expect(await command(t2.url, id)).toMatchObject({
      status: 'done',
      attempts: 1,
      responseRaw: answer,
      response: JSON.parse(answer),
      resultUuid: deviceUuid,
      resultEndpoint: 'create_objects',
    });
    expect(await unmatched(t2)).toEqual([]);
  });

  it('serves the device routes under each of push.basePaths (/push/push, /api/push); other paths are 404', async () => {
    const t = await start({ basePaths: ['/push', '/api'] });
    for (const [prefix, deviceId] of [
      ['/push', '41'],
      ['/api', '42'],
    ] as const) {
      const id = await enqueueOk(t.url, deviceId, { endpoint: 'load_objects', body: { object: 'users' } });
      const dev = device(`${t.url}${prefix}`, deviceId);
      const e = await dev.cycle();
      expect(e).toMatchObject({ acked: true, ok: true, command: { uuid: id } });
      expect(await command(t.url, id)).toMatchObject({ status: 'done', responseRaw: e!.answer });
    }
    await enqueueOk(t.url, '43', { endpoint: 'x' });
    for (const path of ['/push?deviceId=43', '/other/push?deviceId=43', '/push/push/push?deviceId=43'])
      expect((await http(`${t.url}${path}`)).status, path).toBe(404);
    expect(
      (
        await command(
          t.url,
          ((await row(t.app, "SELECT id FROM push_commands WHERE device_id = '43'")) as { id: string }).id,
        )
      ).status,
    ).toBe('queued');
  });

  it('a result reporting another endpoint is unmatched (reason kept); .fcgi and a leading / are the same endpoint', async () => {
    const t = await start();
    const id = await enqueueOk(t.url, '50', { endpoint: 'create_objects' });
    const dev = device(t.url, '50');
    const { command: c, deviceUuid } = await dev.poll();
    const post = (endpoint: string, response: string) =>
      http(`${t.url}/result?deviceId=50&uuid=${deviceUuid}&endpoint=${encodeURIComponent(endpoint)}`, {
        method: 'POST',
        body: JSON.stringify({ response }),
      });
    expect((await post('destroy_objects', '{"changes":1}')).status).toBe(200);
    expect(await unmatched(t)).toEqual([
      {
        command_id: deviceUuid,
        reason: 'endpoint mismatch: reported destroy_objects, delivered create_objects',
        endpoint: 'destroy_objects',
      },
    ]);
    expect((await command(t.url, id)).status).toBe('delivered');
    expect((await post('/create_objects.fcgi', '{"ids":[7]}')).status).toBe(200);
    expect(await command(t.url, id)).toMatchObject({
      status: 'done',
      response: { ids: [7] },
      resultEndpoint: '/create_objects.fcgi',
    });
    expect(c!.endpoint).toBe('create_objects');
  });

  it('matching: device uuid, own command id, unbound delivery; redelivery gets a fresh binding; a second result is unmatched', async () => {
    const t = await start({ resultTimeoutSeconds: 0.3 });
    const dev = device(t.url, '60');
    const res = (q: string, body: unknown) =>
      http(`${t.url}/result?deviceId=60${q}`, { method: 'POST', body: JSON.stringify(body) });

    // bound uuid: another uuid is not matched to it
    const a = await enqueueOk(t.url, '60', { endpoint: 'a' });
    const p1 = await dev.poll();
    await res('&uuid=not-the-one', { response: 'x' });
    expect(await unmatched(t)).toEqual([
      {
        command_id: 'not-the-one',
        reason: 'unknown uuid; the delivery in flight is bound to another uuid',
        endpoint: null,
      },
    ]);
    await sleep(400);
    const p2 = await dev.poll(); // redelivered with a fresh uuid
    expect(p2.command?.uuid).toBe(a);
    expect(p2.deviceUuid).not.toBe(p1.deviceUuid);
    const view = await command(t.url, a);
    expect((view.deliveries as Array<{ deviceUuid?: string }>).map((d) => d.deviceUuid)).toEqual([
      p1.deviceUuid,
      p2.deviceUuid,
    ]);
    await res(`&uuid=${p2.deviceUuid}`, { response: '"second"' });
    await res(`&uuid=${p1.deviceUuid}`, { response: '"late first"' }); // the earlier delivery answers late
    expect(await command(t.url, a)).toMatchObject({ status: 'done', response: 'second', resultUuid: p2.deviceUuid });
    expect(await unmatched(t)).toHaveLength(2);
    expect((await unmatched(t))[1]).toMatchObject({ command_id: p1.deviceUuid, reason: 'command already done' });

    // delivered to a poll without uuid: a result with an unknown uuid is matched to it (the only one in flight)
    const b = await enqueueOk(t.url, '60', { endpoint: 'b' });
    const plain = device(t.url, '60', 'plain');
    expect((await plain.poll()).command?.uuid).toBe(b);
    await res('&uuid=generated-by-device&endpoint=b', { response: '{"ok":true}' });
    expect(await command(t.url, b)).toMatchObject({
      status: 'done',
      response: { ok: true },
      resultUuid: 'generated-by-device',
    });

    // fieldhub's own command id still works, in the query or in the body
    const c = await enqueueOk(t.url, '60', { endpoint: 'c' });
    await dev.poll();
    await res('', { response: 'by body id', uuid: c });
    expect(await command(t.url, c)).toMatchObject({ status: 'done', response: 'by body id' });
    expect(await unmatched(t)).toHaveLength(2);
  });

  it('device errors arrive as a string (JSON text or not) and are kept as sent', async () => {
    const t = await start();
    const id = await enqueueOk(t.url, '70', { endpoint: 'fail_me' });
    const e = await device(t.url, '70').cycle();
    expect(e).toMatchObject({ ok: false, acked: true });
    expect(await command(t.url, id)).toMatchObject({
      status: 'failed',
      reason: 'device error',
      error: 'invalid session',
      errorRaw: 'invalid session',
    });
    const j = await enqueueOk(t.url, '70', { endpoint: 'x' });
    const dev = device(t.url, '70');
    const { deviceUuid } = await dev.poll();
    await http(`${t.url}/result?deviceId=70&uuid=${deviceUuid}`, {
      method: 'POST',
      body: JSON.stringify({ error: '{"code": 3}' }),
    });
    expect(await command(t.url, j)).toMatchObject({ status: 'failed', error: { code: 3 }, errorRaw: '{"code": 3}' });
  });

  it('push.bodyEncoding "object" sends the value; per command bodyEncoding overrides; octet-stream stays base64', async () => {
    const t = await start({ bodyEncoding: 'object' });
    const dev = device(t.url, '80');
    await enqueueOk(t.url, '80', { endpoint: 'a', body: { object: 'users' } });
    await enqueueOk(t.url, '80', { endpoint: 'b', body: { object: 'users' }, bodyEncoding: 'string' });
    await enqueueOk(t.url, '80', {
      endpoint: 'c',
      body: 'AAEC',
      contentType: 'application/octet-stream',
      bodyEncoding: 'string',
    });
    const bodies: unknown[] = [];
    for (let i = 0; i < 3; i++) bodies.push((await dev.cycle())!.command.body);
    expect(bodies).toEqual([{ object: 'users' }, '{"object":"users"}', 'AAEC']);
    expect(await dev.cycle()).toBeUndefined();
  });

  it('bad uuids (empty, 10 KB, non-ASCII, repeated) and bad endpoints never 5xx and take nothing off the queue', async () => {
    const t = await start();
    const id = await enqueueOk(t.url, '90', { endpoint: 'x' });
    const bad = ['x'.repeat(10 * 1024), encodeURIComponent('ação'), 'a%20b', '%00', 'x'.repeat(129)];
    for (const u of bad) {
      for (const [method, path] of [
        ['GET', '/push'],
        ['POST', '/result'],
      ] as const) {
        const r = await http(`${t.url}${path}?deviceId=90&uuid=${u}`, {
          method,
          body: method === 'POST' ? '{"response":"x"}' : undefined,
        });
        expect(r.status, `${path} ${u.slice(0, 20)}`).toBe(400);
        expect(JSON.parse(r.text).error).toMatch(/uuid/);
      }
    }
    const rep = await http(`${t.url}/push?deviceId=90&uuid=a&uuid=b`);
    expect(rep.status).toBe(400);
    const raw = await http(`${t.url}/push?deviceId=90&uuid=ação`); // raw UTF-8 bytes in the request line
    expect(raw.status).toBeLessThan(500);
    for (const e of ['', '../x', 'a b', 'x'.repeat(200), encodeURIComponent('ação')]) {
      const r = await http(`${t.url}/result?deviceId=90&endpoint=${e}`, { method: 'POST', body: '{}' });
      expect(r.status, e).toBeLessThan(500);
      if (e !== '') expect(JSON.parse(r.text).error).toMatch(/endpoint/);
    }
    expect(await row(t.app, "SELECT COUNT(*) AS n FROM push_unmatched_results WHERE device_id = '90'")).toEqual({
      n: 1,
    }); // only the empty endpoint
    // an empty uuid is no uuid: the poll is served
    expect(JSON.parse((await http(`${t.url}/push?deviceId=90&uuid=`)).text)).toMatchObject({ uuid: id });
    expect(await command(t.url, id)).toMatchObject({ status: 'delivered', attempts: 1 });
    const m = await (await fetch(`${t.url}/metrics`)).text();
    expect(m).not.toMatch(/status_code="5\d\d"/);
  });

  it('documents the uuid and endpoint query parameters in OpenAPI', async () => {
    const t = await start({ basePaths: ['', '/api'] });
    const spec = (await t.app.inject('/docs/json')).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/push', '/result', '/api/push', '/api/result']));
    expect(JSON.stringify(spec.paths['/result'])).toContain('endpoint');
  });
});
