/** keys.json: the original's format, hot reload without restart, last good keys kept on a bad edit. */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKeys } from '../../../src/modules/patriot/keys.js';
import { INFO, KEY_A, KEY_B, keysJson, buildPatriot, type PatriotApp } from './helpers.js';

/** the app of the running test (closes itself when the test finishes) */
let t: PatriotApp | undefined;

/** Polls `fn` until it holds (the bound is a give-up point, not a speed assertion). */
async function until(fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}

const get = (key: string) => t!.req(key, 'POST', '/clients/zones/list', { client_id: 1 });

describe('patriot keys file', () => {
  it('parses the original format: "True"/"False" strings, extras, groupings; shipped example is valid', async () => {
    const keys = parseKeys(JSON.stringify(keysJson()));
    expect(keys[0]).toMatchObject({
      key_name: 'Alarm24',
      enabled: true,
      port: 'BASE11',
      extras: { UseGlobCallOuts: true, ShowOnCallOuts: false, GlobCallOuts: 'TLF01BASE01' },
    });
    expect(keys[0]!.ClientGroupings[1]).toEqual({
      Description: 'Import',
      GroupingTypeDescription: 'Østfold Sikkerhetsservice AS',
      GroupingAllowMultiple: true,
    });
    const { readFileSync } = await import('node:fs');
    const example = parseKeys(readFileSync(new URL('../../../config/keys.example.json', import.meta.url), 'utf8'));
    expect(example.map((k) => k.key_name)).toEqual(['Alarm24', 'InstallerX']);
    expect(() => parseKeys('[{"key_name":"../x","key":"k","port":"P"}]')).toThrow(/key_name/);
    expect(() => parseKeys(JSON.stringify(keysJson({ b: { port: 'BASE11' } })))).toThrow(/duplicate port/);
    expect(() => parseKeys(JSON.stringify(keysJson({ b: { key: KEY_A } })))).toThrow(/duplicate key/);
    expect(() => parseKeys('{')).toThrow(/not valid JSON/);
  });

  it('disabling a key in the file takes effect without a restart; re-enabling too', async () => {
    t = await buildPatriot();
    await t.req(KEY_A, 'PUT', '/clients', { client_id: 1, info: INFO });
    expect((await get(KEY_A)).statusCode).toBe(200);
    t.writeKeys(keysJson({ a: { enabled: 'False' } }));
    await until(async () => (await get(KEY_A)).statusCode === 401); // same app, no restart
    expect((await get(KEY_A)).json()).toEqual({ detail: 'API key disabled' });
    expect((await get(KEY_B)).statusCode).toBe(404); // the other key still works (no client 1 there)
    t.writeKeys(keysJson());
    await until(async () => (await get(KEY_A)).statusCode === 200);
  });

  it('a key whose valid_to passes stops working at that moment; a new key added to the file starts working', async () => {
    t = await buildPatriot();
    await t.req(KEY_A, 'PUT', '/clients', { client_id: 1, info: INFO });
    const validTo = Date.now() + 1500;
    t.writeKeys(keysJson({ a: { valid_to: new Date(validTo).toISOString() } }));
    expect((await get(KEY_A)).statusCode).toBe(200);
    await until(async () => (await get(KEY_A)).statusCode === 401);
    expect(Date.now()).toBeGreaterThanOrEqual(validTo);
    expect((await get(KEY_A)).json()).toEqual({ detail: 'API key expired' });
    const newKey = 'brand-new-key-0123456789';
    t.writeKeys([
      ...keysJson(),
      { key_name: 'New', key: newKey, enabled: true, valid_to: '2099-01-01T00:00:00Z', port: 'BASE77' },
    ]);
    await until(async () => (await t!.req(newKey, 'PUT', '/clients', { client_id: 1, info: INFO })).statusCode === 201);
  });

  it('a keys file that fails validation is logged and the last good keys stay in force', async () => {
    t = await buildPatriot();
    const loaded = () => t!.logs.lines.filter((l) => l.includes('patriot: keys loaded')).length;
    expect(loaded()).toBe(1);
    t.writeKeys(`[{"key_name": "Alarm24", "key": ${KEY_A}}]`); // unquoted: V8 quotes the key in its message
    await until(async () => t!.logs.text.includes('keys file invalid'));
    t.writeKeys(JSON.stringify(keysJson({ a: { enabled: 'sometimes' } })));
    await until(async () => t!.logs.lines.filter((l) => l.includes('keys file invalid')).length >= 2);
    expect(loaded()).toBe(1);
    expect((await get(KEY_A)).statusCode).toBe(404); // authenticated: the old keys
    // not even a fragment of a key (JSON.parse's message quotes the text around the error)
    for (const secret of [KEY_A, KEY_B])
      for (let i = 0; i + 8 <= secret.length; i++) expect(t.logs.text).not.toContain(secret.slice(i, i + 8));
  });

  it('a missing keys file means no keys: every request 401, with a warning', async () => {
    t = await buildPatriot({}, null);
    expect(t.logs.text).toMatch(/keys file missing/);
    expect((await get(KEY_A)).statusCode).toBe(401);
    expect((await get(KEY_A)).json()).toEqual({ detail: 'Invalid API key' });
    // created later: picked up
    t.writeKeys(keysJson());
    await until(async () => (await get(KEY_A)).statusCode === 404);
    // removed again: no keys
    rmSync(t.keysFile);
    await until(async () => (await get(KEY_A)).statusCode === 401);
  });
});
