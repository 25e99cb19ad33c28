/**
 * The bugs the bad-input fuzz found, as fixed examples (docs/reliability-fuzz.md lists them).
 */
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { LogCapture } from '../helpers/app.js';
import { ADMIN_TOKEN, makeSandbox, PATRIOT_KEY, SYNC_TOKEN, type Sandbox } from './fuzz-helpers/sandbox.js';
import { shapeProblem } from './fuzz-helpers/shapes.js';

let box: Sandbox;
let app: FastifyInstance;
let logs: LogCapture;

beforeAll(async () => {
  box = makeSandbox();
  const config = loadConfig({
    file: path.join(import.meta.dirname, '..', 'helpers', 'empty-config.json'),
    env: {},
    overrides: box.overrides,
  });
  logs = new LogCapture();
  app = await buildApp(config, { logStream: logs, defaultMetrics: false, startScheduler: false });
});

afterAll(async () => {
  await app?.close();
  box?.cleanup();
});

const answer = (r: { statusCode: number; headers: Record<string, unknown>; body: string }) => ({
  status: r.statusCode,
  headers: r.headers as Record<string, string>,
  body: r.body,
});

describe('bugs found by the fuzz', () => {
  it('sync: a truncated multipart body is a 400 in the sync shape (was a 500)', async () => {
    const b = 'xyzBOUNDARY';
    const full = `--${b}\r\nContent-Disposition: form-data; name="node_name"\r\n\r\nn1\r\n--${b}\r\nContent-Disposition: form-data; name="plugin"\r\n\r\nSYNC\r\n--${b}\r\nContent-Disposition: form-data; name="data"\r\n\r\nabc\r\n--${b}--\r\n`;
    for (const cut of [full.length - 10, full.length / 2, 30]) {
      const r = await app.inject({
        method: 'POST',
        url: '/sync',
        headers: { authorization: `Bearer ${SYNC_TOKEN}`, 'content-type': `multipart/form-data; boundary=${b}` },
        payload: full.slice(0, Math.floor(cut)),
      });
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json()).toEqual({ success: false, error: 'Unexpected end of multipart data' });
    }
  });

  it('sync: GET /sync stays bounded when nodes send many distinct field names (was devices x keys: an OOM crash at 100 MB of posts)', async () => {
    const post = (data: unknown) =>
      app.inject({
        method: 'POST',
        url: '/sync',
        headers: { authorization: `Bearer ${SYNC_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `node_name=n1&plugin=SYNC&data=${encodeURIComponent(JSON.stringify({ data }))}`,
      });
    for (let p = 0; p < 10; p++) {
      const devs = Array.from({ length: 10 }, (_, i) =>
        Object.fromEntries([
          ['devMac', `aa:00:${p}:${i}`],
          ...Array.from({ length: 50 }, (_x, k) => [`x${p}_${i}_${k}`, k]),
        ]),
      );
      expect((await post(devs)).statusCode).toBe(200);
    }
    expect((await post([JSON.parse('{"devMac":"aa:99","__proto__":{"polluted":1},"devCustom":"c"}')])).statusCode).toBe(
      200,
    );
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/admin/sync/process',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).statusCode,
    ).toBe(200);
    const r = await app.inject({ method: 'GET', url: '/sync', headers: { authorization: `Bearer ${SYNC_TOKEN}` } });
    expect(r.statusCode).toBe(200);
    const devices = (
      JSON.parse(Buffer.from(r.json().data_base64, 'base64').toString('utf8')) as {
        data: Array<Record<string, unknown>>;
      }
    ).data;
    expect(devices.length).toBe(101);
    // 9 canonical keys + at most 256 others on every device (5,002 distinct names were sent)
    for (const d of devices) expect(Object.keys(d).length).toBeLessThanOrEqual(9 + 256);
    expect(r.body.length).toBeLessThan(2_000_000);
    expect(devices.find((d) => d.devMac === 'aa:99')).toBeDefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('core: a path parameter over maxParamLength is a 414 in the core shape (Fastify added "code", no module shape)', async () => {
    const r = await app.inject({
      method: 'DELETE',
      url: `/admin/push/commands/${'A'.repeat(300)}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(r.statusCode).toBe(414);
    expect(Object.keys(r.json()).sort()).toEqual(['error', 'message', 'statusCode']);
    expect(shapeProblem('core', answer(r))).toBeUndefined();
  });

  it('core: a URL with bad percent-encoding is a 400 in the core shape', async () => {
    for (const url of ['/clients/users/list/%c0%af', '/admin/conduit/users/%/token', '/sync/%zz']) {
      const r = await app.inject({ method: 'POST', url });
      expect(r.statusCode).toBe(400);
      expect(Object.keys(r.json()).sort()).toEqual(['error', 'message', 'statusCode']);
    }
  });

  it('patriot: a client_id that cannot be made a string does not break the request log (was an error in onResponse)', async () => {
    for (const payload of [
      '{"client_id":{"toString":1}}',
      '{"client_id":{"toString":null,"valueOf":null},"info":{}}',
    ]) {
      const r = await app.inject({
        method: 'PUT',
        url: '/clients',
        headers: { authorization: `Bearer ${PATRIOT_KEY}`, 'content-type': 'application/json' },
        payload,
      });
      expect(r.statusCode).toBe(422);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(logs.json().filter((l) => Number(l.level) >= 50)).toEqual([]);
    const lines = readFileSync(path.join(box.dataDir, 'api_requests.log'), 'utf8').trim().split('\n');
    expect(lines.slice(-2).every((l) => / PUT \/clients client_id=- status=422 /.test(l))).toBe(true);
  });

  it('patriot: a write answered while a concurrent DELETE removes the client is not a 500 (the answer was read after the XML write)', async () => {
    const h = { authorization: `Bearer ${PATRIOT_KEY}`, 'content-type': 'application/json' };
    const statuses = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const id = 500 + i;
      await app.inject({ method: 'PUT', url: '/clients', headers: h, payload: { client_id: id, info: { Name: 'A' } } });
      await app.inject({
        method: 'POST',
        url: '/clients/users',
        headers: h,
        payload: { client_id: id, user: { User_Name: 'U', UserNo: 1 } },
      });
      const rs = await Promise.all([
        app.inject({ method: 'PUT', url: '/clients', headers: h, payload: { client_id: id, info: { Name: 'B' } } }),
        app.inject({ method: 'PATCH', url: '/clients', headers: h, payload: { client_id: id, info: { Alias: 'b' } } }),
        app.inject({
          method: 'PUT',
          url: '/clients/users',
          headers: h,
          payload: { client_id: id, user: { User_Name: 'V', UserNo: 1 } },
        }),
        app.inject({ method: 'DELETE', url: '/clients', headers: h, payload: { client_id: id } }),
      ]);
      for (const r of rs) {
        statuses.add(r.statusCode);
        expect(r.statusCode, r.body).toBeLessThan(500);
        if (r.statusCode === 200 && r.json().user !== undefined) expect(r.json().user.User_Name).toBe('V');
      }
    }
    expect(statuses.has(500)).toBe(false);
  });

  it('patriot: a method a path does not serve is a 405 whatever the Content-Type (was a 415 for a malformed one)', async () => {
    for (const ct of ['WY', 'text/plain', 'na{uhasO']) {
      const r = await app.inject({
        method: 'POST',
        url: '/clients',
        headers: { authorization: `Bearer ${PATRIOT_KEY}`, 'content-type': ct },
        payload: 'null',
      });
      expect(r.statusCode).toBe(405);
      expect(r.json()).toEqual({ detail: 'Method Not Allowed' });
      expect(r.headers.allow).toBe('GET, PUT, PATCH, DELETE');
    }
  });
});
