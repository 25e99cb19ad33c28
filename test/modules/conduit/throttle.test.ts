import { describe, expect, it } from 'vitest';
import { Throttle } from '../../../src/modules/conduit/throttle.js';
import { conduitApp } from './helpers.js';

describe('conduit throttle', () => {
  it('by default one request per 15 s per token: the second gets 429 with Retry-After; other tokens pass', async () => {
    const c = await conduitApp();
    const alice = await c.user('alice', ['S'], { throttleSeconds: null });
    const bob = await c.user('bob', ['S'], { throttleSeconds: null });
    expect((await c.req({ token: alice })).statusCode).toBe(304);
    const second = await c.req({ token: alice });
    expect(second.statusCode).toBe(429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(14);
    expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(15);
    expect(second.json()).toEqual({
      code: '429',
      error: expect.stringMatching(/^Too Many Requests: one request every 15 s/),
    });
    // writes count too, and a refused request writes nothing
    const post = await c.ingest(alice, [{ dev_netid: 'A1', dev_chid: 1, val_date: 1, val_raw: 1 }]);
    expect(post.statusCode).toBe(429);
    expect({ n: await c.count('conduit_datapoints') }).toEqual({ n: 0 });
    expect((await c.req({ token: bob })).statusCode).toBe(304);
    // bad tokens are refused before the throttle and do not use anyone's turn
    expect((await c.req({ token: 'nope-nope-nope-nope' })).statusCode).toBe(401);
  });

  it('passes again once the window is over (short configured window, real clock)', async () => {
    const c = await conduitApp({ throttleSeconds: 0.4 });
    const tok = await c.user('alice', ['S'], { throttleSeconds: null });
    expect((await c.req({ token: tok })).statusCode).toBe(304);
    const refused = await c.req({ token: tok });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    await new Promise((r) => setTimeout(r, 450));
    expect((await c.req({ token: tok })).statusCode).toBe(304);
    expect((await c.req({ token: tok })).statusCode).toBe(429);
  });

  it('a per-user override wins over conduit.throttleSeconds; 0 turns it off', async () => {
    const c = await conduitApp({ throttleSeconds: 0 });
    const free = await c.user('free', ['S'], { throttleSeconds: null });
    const slow = await c.user('slow', ['S'], { throttleSeconds: 60 });
    for (let i = 0; i < 5; i++) expect((await c.req({ token: free })).statusCode).toBe(304);
    expect((await c.req({ token: slow })).statusCode).toBe(304);
    const r = await c.req({ token: slow });
    expect(r.statusCode).toBe(429);
    expect(r.headers['retry-after']).toBe('60');
  });

  it('Throttle on a fake clock: the window starts at the accepted request, refusals do not move it', () => {
    let now = 1_000_000;
    const t = new Throttle(() => now);
    expect(t.take(1, 15)).toBe(0);
    now += 10_000;
    expect(t.take(1, 15)).toBe(5);
    now += 4_999;
    expect(t.take(1, 15)).toBeCloseTo(0.001);
    now += 1;
    expect(t.take(1, 15)).toBe(0);
    expect(t.take(2, 15)).toBe(0);
    expect(t.take(1, 0)).toBe(0);
  });
});
