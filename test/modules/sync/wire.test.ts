/** Issue 13: wire details as the real hub (422, 404, 415, content types) and sync.behavior. */
import { describe, expect, it } from 'vitest';
import { closesItself } from '../../helpers/app.js';
import { AUTH, files, form, processNow, syncApp } from './helpers.js';

const json = (body: unknown) => ({
  method: 'POST' as const,
  url: '/sync',
  headers: { ...AUTH, 'content-type': 'application/json' },
  payload: JSON.stringify(body),
});

describe('sync wire details', () => {
  it('JSON POST: 200 with success, 422 without data (NetAlertX body), answers are application/json without charset', async () => {
    const t = closesItself(await syncApp());
    const ok = await t.app.inject(json({ data: '{"data":[]}', node_name: 'n.1', plugin: 'SYNC', file_path: 'x' }));
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json');
    expect(ok.json()).toEqual({ success: true, message: 'Data received and stored successfully' });
    const missing = await t.app.inject(json({ node_name: 'n', plugin: 'SYNC' }));
    expect(missing.statusCode).toBe(422);
    expect(missing.headers['content-type']).toBe('application/json');
    expect(missing.json()).toEqual({
      success: false,
      error: "Missing required 'data'",
      details: [expect.objectContaining({ loc: ['body', 'data'] })],
    });
    const badPlugin = await t.app.inject(json({ data: 'x', node_name: 'n', plugin: '../x' }));
    expect(badPlugin.statusCode).toBe(422);
    expect(badPlugin.json().error).toMatch(/^plugin: /);
    const forbidden = await t.app.inject({ url: '/sync' });
    expect(forbidden.headers['content-type']).toBe('application/json');
    const get = await t.app.inject({ url: '/sync', headers: AUTH });
    expect(get.headers['content-type']).toBe('application/json');
    // the node name's dot stays a dot in the file name (processed first: the name no longer depends on timing)
    await processNow(t);
    expect(await files(t)).toEqual(['processed_last_result.SYNC.n.1.1.log']);
  });

  it('text/plain and other types are 415 with the 26.2+ body; unknown /sync paths 404 "API route not found"', async () => {
    const t = closesItself(await syncApp());
    for (const type of ['text/plain', 'text/csv', 'application/xml']) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/sync',
        headers: { ...AUTH, 'content-type': type },
        payload: 'data=x&node_name=n&plugin=SYNC',
      });
      expect(r.statusCode, type).toBe(415);
      expect(r.json()).toEqual({
        success: false,
        error: 'Invalid Content-Type',
        message: expect.stringContaining('application/json'),
      });
    }
    for (const url of ['/sync/nothing', '/sync/a/b']) {
      const r = await t.app.inject({ url, headers: AUTH });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual({ success: false, error: 'API route not found' });
    }
    expect(await files(t)).toEqual([]);
  });
});

describe('sync.behavior for a known device', () => {
  const first = {
    devMac: 'aa:00:00:00:00:09',
    devName: 'Hub name',
    devOwner: 'Hub owner',
    devVendor: 'V1',
    devLastIP: '10.0.0.1',
    devComments: 'kept?',
  };
  const second = {
    devMac: 'AA:00:00:00:00:09',
    devName: 'Node name',
    devOwner: 'Node owner',
    devVendor: 'V2',
    devLastIP: '10.0.0.2',
    devComments: 'node',
    devSite: 'S',
  };

  async function after(behavior: string) {
    const t = closesItself(await syncApp({ behavior }));
    for (const [node, d] of [
      ['N1', first],
      ['N2', second],
    ] as const) {
      expect(
        (
          await t.app.inject({
            method: 'POST',
            url: '/sync',
            ...form({ data: JSON.stringify({ data: [d] }), node_name: node, plugin: 'SYNC' }),
          })
        ).statusCode,
      ).toBe(200);
      await processNow(t);
    }
    const d = (await t.app.inject({ url: '/sync/devices', headers: AUTH })).json().devices[0] as Record<
      string,
      unknown
    >;
    await t.close();
    return d;
  }

  it('merge (default), copy-new, carbon-copy and hub-defaults', async () => {
    expect(await after('merge')).toMatchObject({
      devName: 'Hub name',
      devOwner: 'Hub owner',
      devVendor: 'V1',
      devLastIP: '10.0.0.2',
      devComments: 'kept?',
      devSyncHubNode: 'N2',
    });
    expect(await after('copy-new')).toMatchObject({
      devName: 'Hub name',
      devOwner: 'Hub owner',
      devVendor: 'V1',
      devLastIP: '10.0.0.1',
      devSyncHubNode: 'N1',
    });
    expect(await after('carbon-copy')).toMatchObject({
      devName: 'Node name',
      devOwner: 'Node owner',
      devVendor: 'V2',
      devLastIP: '10.0.0.2',
      devComments: 'node',
      devSite: 'S',
      devSyncHubNode: 'N2',
    });
    // hub-owned fields kept when the hub has them; a hub-owned field the hub lacks (devSite) is taken
    expect(await after('hub-defaults')).toMatchObject({
      devName: 'Hub name',
      devOwner: 'Hub owner',
      devVendor: 'V2',
      devLastIP: '10.0.0.2',
      devComments: 'kept?',
      devSite: 'S',
      devSyncHubNode: 'N2',
    });
  });
});
