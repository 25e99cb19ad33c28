import { gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { conduitApp, series, T0, type ConduitApp } from './helpers.js';

const WIDE = 'fcdt=0&tcdt=99999999999';
const count = (app: ConduitApp) => app.count();

/** A raw HTTP request over the socket (fetch would inflate responses itself). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer }) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (resolve, reject) => {
      const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(opts.body);
    },
  );
}

describe('conduit API: compression', () => {
  it('accepts a gzip request body (Content-Encoding: gzip) over a real socket', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const url = await c.listen();
    const pts = series('A1', 2000, { chs: 4 });
    const body = gzipSync(JSON.stringify(pts));
    const r = await raw(`${url}/conduitv6`, {
      method: 'POST',
      headers: { 'x-api-key': tok, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ code: '200', accepted: 2000 });
    expect(await count(c)).toBe(2000);
  });

  it('gzips answers over 1024 bytes when asked (Accept-Encoding: gzip), not smaller ones or when not asked', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const url = await c.listen();
    await c.ingest(tok, series('A1', 50));
    const big = await raw(`${url}/conduitv6?${WIDE}`, { headers: { 'x-api-key': tok, 'accept-encoding': 'gzip' } });
    expect(big.status).toBe(200);
    expect(big.headers['content-encoding']).toBe('gzip');
    const plain = await raw(`${url}/conduitv6?${WIDE}`, { headers: { 'x-api-key': tok } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(1024);
    expect(gunzipSync(big.body).toString()).toBe(plain.body.toString());
    expect(big.body.length).toBeLessThan(plain.body.length / 4);
    const small = await raw(`${url}/conduitv6?id=A1&fcdt=${T0}&tcdt=${T0}`, {
      headers: { 'x-api-key': tok, 'accept-encoding': 'gzip' },
    });
    expect(small.body.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(small.body.toString())).toHaveLength(1);
    // errors are JSON in the conduit shape whatever the encoding asked
    const err = await raw(`${url}/conduitv6?fcdt=1`, { headers: { 'x-api-key': tok, 'accept-encoding': 'gzip' } });
    expect(JSON.parse(err.body.toString())).toEqual({ code: '400', error: 'fcdt and tcdt must be given together' });
  });

  it('a gzip bomb answers 413 without inflating it; invalid gzip 400; other encodings 415', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const url = await c.listen();
    const headers = { 'x-api-key': tok, 'content-type': 'application/json' };
    // 1 GB of spaces (1024 gzip members of 1 MB each, as gzip allows) inflates far over the 5 MB limit; compressed it is ~1 MB
    const member = gzipSync(Buffer.alloc(1024 * 1024, 0x20), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
    expect(gunzipSync(bomb.subarray(0, member.length * 3)).length).toBe(3 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(5 * 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const r = await raw(`${url}/conduitv6`, {
      method: 'POST',
      headers: { ...headers, 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body.toString())).toEqual({
      code: '413',
      error: 'request body exceeds 5242880 bytes after decompression',
    });
    // not inflated: memory stays far below the 1 GB it would take (speed is measured in bench/, not here)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    // just under the limit inflated is accepted
    const fits = JSON.stringify(series('A1', 1)).padEnd(5 * 1024 * 1024 - 1, ' ');
    const ok = await raw(`${url}/conduitv6`, {
      method: 'POST',
      headers: { ...headers, 'content-encoding': 'gzip' },
      body: gzipSync(fits),
    });
    expect(ok.status).toBe(200);
    const notGzip = await raw(`${url}/conduitv6`, {
      method: 'POST',
      headers: { ...headers, 'content-encoding': 'gzip' },
      body: Buffer.from('[]'),
    });
    expect(JSON.parse(notGzip.body.toString())).toEqual({ code: '400', error: 'request body is not valid gzip' });
    const br = await raw(`${url}/conduitv6`, {
      method: 'POST',
      headers: { ...headers, 'content-encoding': 'br' },
      body: Buffer.from('[]'),
    });
    expect(br.status).toBe(415);
    expect(JSON.parse(br.body.toString()).code).toBe('415');
  });

  it('a body over 5 MB before compression answers 413', async () => {
    const c = await conduitApp();
    const tok = await c.user('alice', ['S']);
    const url = await c.listen();
    const body = Buffer.from(JSON.stringify(series('A1', 1)).padEnd(5 * 1024 * 1024 + 10, ' '));
    const r = await raw(`${url}/conduitv6`, {
      method: 'POST',
      headers: { 'x-api-key': tok, 'content-type': 'application/json' },
      body,
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body.toString()).code).toBe('413');
    const small = await conduitApp({ maxBodyBytes: 1000 });
    try {
      const t2 = await small.user('bob', ['S']);
      const r2 = await small.req({
        token: t2,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: gzipSync(JSON.stringify(series('A1', 30))),
      });
      expect(r2.statusCode).toBe(413);
      expect(r2.json()).toEqual({ code: '413', error: 'request body exceeds 1000 bytes after decompression' });
    } finally {
      await small.close();
    }
    expect(await count(c)).toBe(0);
  });
});
