import { describe, expect, it } from 'vitest';
import { ADMIN, build, rawGet } from './helpers/app.js';
import { testModule } from './fixtures/test-module.js';

describe('app skeleton', () => {
  it('starts on an empty data dir and answers /healthz, /readyz, /metrics, /docs over a real socket', async () => {
    const t = await build({}, { modules: [testModule] });
    const url = await t.listen();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: true, scheduler: true });
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(
      /fieldhub_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/,
    );
    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    const spec = (await (await fetch(`${url}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.paths['/echo']).toBeDefined();
  });

  it('/readyz answers 503 when the scheduler is not running', async () => {
    const t = await build({}, { modules: [testModule], startScheduler: false });
    const r = await t.app.inject('/readyz');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ status: 'not ready', scheduler: false });
  });

  it('unknown route: 404 JSON', async () => {
    const t = await build({}, { modules: [testModule] });
    const r = await t.app.inject('/nothing/here?token=abc');
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    expect(r.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'Route GET /nothing/here not found' });
  });

  it('malformed JSON 400, wrong content type 415, oversize 413, validation 400: JSON, no stack', async () => {
    const t = await build({ server: { bodyLimitBytes: 1024 } }, { modules: [testModule] });
    const bad = await t.app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"v":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const type = await t.app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'text/csv' },
      payload: 'a,b',
    });
    expect(type.statusCode).toBe(415);
    expect(type.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
    const big = await t.app.inject({ method: 'POST', url: '/echo', payload: { v: 'x'.repeat(2000) } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    const perRoute = await t.app.inject({ method: 'POST', url: '/small', payload: { v: 'more than ten bytes' } });
    expect(perRoute.statusCode).toBe(413);
    const invalid = await t.app.inject({ method: 'POST', url: '/echo', payload: { v: 5 } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().validation[0]).toMatchObject({ loc: ['body', 'v'] });
    for (const r of [bad, type, big, perRoute, invalid]) expect(r.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
    const ok = await t.app.inject({ method: 'POST', url: '/echo', payload: { v: 'fine' } });
    expect(ok.statusCode).toBe(200);
    const stored = t.app.pg
      ? (await t.app.pg.query('SELECT v FROM echo_t')).rows
      : t.app.store.db.prepare('SELECT v FROM echo_t').all();
    expect(stored).toEqual([{ v: 'fine' }]);
  });

  it('no log line of a request carries its bearer token, X-Api-Key, Token header or ?token=', async () => {
    const t = await build({ server: { logLevel: 'trace' } }, { modules: [testModule] });
    const url = await t.listen();
    await fetch(`${url}/echo?token=QUERYSECRET123&x=1`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer BEARERSECRET123',
        'x-api-key': 'APIKEYSECRET123',
        token: 'TOKENHEADERSECRET123',
        'content-type': 'application/json',
      },
      body: '{"v":',
    });
    await fetch(`${url}/nothing?token=QUERYSECRET123`, { headers: { authorization: 'Bearer BEARERSECRET123' } });
    await fetch(`${url}/admin/none?token=QUERYSECRET123`, { headers: ADMIN });
    await t.app.close();
    expect(t.logs.lines.length).toBeGreaterThan(4);
    expect(t.logs.text).toContain('[REDACTED]');
    for (const secret of [
      'QUERYSECRET123',
      'BEARERSECRET123',
      'APIKEYSECRET123',
      'TOKENHEADERSECRET123',
      'admin-secret-token',
    ]) {
      expect(t.logs.text).not.toContain(secret);
    }
  });

  it('every log line is JSON with a request id', async () => {
    const t = await build({}, { modules: [testModule] });
    await t.app.inject({ url: '/slow?ms=1', headers: { 'x-request-id': 'req-from-client-1' } });
    const lines = t.logs.json().filter((l) => l.reqId);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.every((l) => l.reqId === 'req-from-client-1')).toBe(true);
  });

  it('close() waits for an in-flight request', async () => {
    const t = await build({}, { modules: [testModule] });
    const url = await t.listen();
    const port = new URL(url).port;
    const body = rawGet(port, '/slow?ms=400');
    await new Promise((r) => setTimeout(r, 100));
    await t.app.close();
    expect(await body).toBe('200 {"slept":400}');
  });
});
