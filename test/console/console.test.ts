/// <reference lib="dom" />
/**
 * The operator console in a real headless Chromium against a real listening fieldhub: sign-in,
 * cookie flags and CSRF, each tile red on its fault and green after the fix, actions, the chart,
 * and hostile data through every field shown. Screenshots of each page go to test-output/console.
 */
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, makeApp, tempDir, type TestApp } from '../helpers/app.js';
import { keysJson, KEY_A } from '../modules/patriot/helpers.js';
import { Smbd, smbdUnavailable } from '../modules/patriot/helpers/smbd.js';
import { SimDevice } from '../modules/push/sim.js';
import { chromiumMissing, openBrowser, type Browser } from './browser.js';

const missing = chromiumMissing() ?? smbdUnavailable();
if (missing) console.warn(missing);

const TOKEN = 'admin-secret-token';
const SYNC_TOKEN = 'sync-token-console';
export const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '"><script>window.__pwned=1</script>',
  "'><svg onload=window.__pwned=1>",
  'abc\u202Egnp.exe\u202C def',
];
const LONG = 'W'.repeat(10 * 1024);

describe.skipIf(missing !== null)('operator console in Chromium', () => {
  let t: TestApp;
  let node: TestApp;
  let fakeNode: Server;
  let nodeMode: 'hang' | 'ok' = 'hang';
  let smbd: Smbd;
  let b: Browser;
  let base: string;
  const nowS = () => Math.floor(Date.now() / 1000);

  const admin = (method: string, url: string, payload?: unknown) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: ADMIN,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  const tile = (m: string, status: string) =>
    b.page.waitForSelector(`.tile[data-module="${m}"][data-status="${status}"]`, { timeout: 20_000 });
  const overview = async () => {
    await b.page.goto(`${base}/console#/`);
    await b.page.waitForSelector('.tile');
  };
  let conduitToken = '';
  const ingest = (points: unknown[]) =>
    t.app.inject({
      method: 'POST',
      url: '/conduitv6',
      headers: { 'x-api-key': conduitToken, 'content-type': 'application/json' },
      payload: points as object,
    });

  beforeAll(async () => {
    smbd = new Smbd();
    await smbd.start();
    // the NetAlertX node: a real fieldhub node behind a switch that can make it hang
    node = await makeApp({ sync: { apiToken: SYNC_TOKEN, nodeName: 'SITE-A' } }, { startScheduler: false });
    const nodeUrl = await node.listen();
    fakeNode = createServer((req, res) => {
      if (nodeMode === 'hang') return; // never answers
      void fetch(`${nodeUrl}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } }).then(
        async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
        },
      );
    });
    await new Promise<void>((r) => fakeNode.listen(0, '127.0.0.1', r));
    const addr = fakeNode.address() as { port: number };

    const dataDir = tempDir('fieldhub-console-');
    writeFileSync(path.join(dataDir, 'keys.json'), JSON.stringify(keysJson()));
    t = await makeApp(
      {
        push: { pollPeriodSeconds: 1, lastSeenFlushMs: 100 },
        sync: { apiToken: SYNC_TOKEN, pullNodes: [`http://127.0.0.1:${addr.port}`], pullTimeoutSeconds: 1 },
        patriot: { keysReloadMs: 100, smb: smbd.smbConfig() },
        conduit: { silentMinutes: 30 },
      },
      { dataDir, startScheduler: false },
    );
    base = await t.listen();
    const u = await admin('POST', '/admin/conduit/users', { name: 'ops', sites: ['Site-1'], throttleSeconds: 0 });
    conduitToken = u.json().token;
    b = await openBrowser();
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.close();
    await node?.close();
    fakeNode?.closeAllConnections();
    fakeNode?.close();
    await smbd?.destroy();
  });

  it('signs in with the admin token: HttpOnly SameSite=Strict expiring cookie, CSP, CSRF on state changes', async () => {
    const res = await b.page.goto(`${base}/console`);
    expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res!.headers()['content-security-policy']).not.toMatch(/unsafe-inline/);
    await b.page.fill('input[name=token]', 'wrong-token');
    await b.page.click('button[type=submit]');
    await b.page.waitForSelector('.error');
    expect(await b.page.textContent('.error')).toMatch(/wrong admin token/);
    await b.shot('signin');
    await b.page.fill('input[name=token]', TOKEN);
    await b.page.click('button[type=submit]');
    await b.page.waitForSelector('.tile');

    const [c] = (await b.context.cookies()).filter((x) => x.name === 'fieldhub_session');
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    expect(c!.expires * 1000).toBeGreaterThan(Date.now());
    expect(c!.value).not.toContain(TOKEN);
    expect(await b.page.evaluate(() => document.cookie)).toBe(''); // not readable by scripts

    // the session authorises the operator API; a state change without the CSRF token is refused
    const noCsrf = await b.page.evaluate(() =>
      fetch('/admin/push/devices/42', { method: 'PUT' }).then((r) => r.status),
    );
    expect(noCsrf).toBe(403);
    const withCsrf = await b.page.evaluate(async () => {
      const s = (await (await fetch('/console/session')).json()) as { csrf: string };
      return (await fetch('/admin/push/devices/42', { method: 'PUT', headers: { 'x-csrf-token': s.csrf } })).status;
    });
    expect(withCsrf).toBe(201);
    expect(await b.page.evaluate(() => fetch('/admin/push/health').then((r) => r.status))).toBe(200);
    expect(t.logs.text).not.toContain('wrong-token');
    expect(t.logs.text).not.toContain(TOKEN);
    const nav = await b.page.evaluate(
      () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd,
    );
    console.log(`console page load (navigation loadEventEnd): ${nav.toFixed(0)} ms`);
  });

  it('push: the tile goes red when a device stops polling and green when it polls again; a queued command is done by the device', async () => {
    const dev = new SimDevice(base, '42');
    await dev.poll();
    await overview();
    await tile('push', 'green');
    await tile('push', 'red'); // not seen for 3 poll periods
    expect(await b.page.textContent('.tile[data-module="push"]')).toMatch(/not seen for more than 3 poll periods: 42/);
    await b.shot('overview-push-red');
    await dev.poll();
    await tile('push', 'green');

    await b.page.goto(`${base}/console#/push/42`);
    await b.page.fill('#queue-command input[name=endpoint]', 'load_objects');
    await b.page.fill('#queue-command input[name=body]', '{"object":"users"}');
    await b.page.click('#queue-command button[type=submit]');
    await b.page.waitForSelector('#commands tr[data-status="queued"]');
    expect(await dev.step()).toMatchObject({ endpoint: 'load_objects', body: '{"object":"users"}' }); // push.bodyEncoding "string" (issue 11)
    await b.page.waitForSelector('#commands tr[data-status="done"]');
    expect(await b.page.textContent('#commands tr[data-status="done"] pre.answer')).toContain(
      '"body": "{\\"object\\":\\"users\\"}"', // the command as delivered: body JSON-encoded (push.bodyEncoding "string")
    );
    // cancel a queued one
    await b.page.fill('#queue-command input[name=endpoint]', 'reboot');
    await b.page.fill('#queue-command input[name=body]', '');
    await b.page.click('#queue-command button[type=submit]');
    await b.page.click('#commands tr[data-status="queued"] button.cancel');
    await b.page.waitForSelector('#commands tr[data-status="cancelled"]');
    await b.shot('push-device');
    await b.page.goto(`${base}/console#/push`);
    await b.page.waitForSelector('#push-devices tr[data-device="42"]');
    await b.shot('push');
  });

  it("conduit: a silent device turns the tile red, a fresh datapoint green; the chart shows the datapoints written; each user's plan shown and changed", async () => {
    expect(
      (await ingest([{ dev_netid: 'A0000001', dev_chid: 1, val_date: nowS() - 7200, val_raw: 1, dev_site: 'Site-1' }]))
        .statusCode,
    ).toBeLessThan(300);
    await overview();
    await tile('conduit', 'red');
    expect(await b.page.textContent('.tile[data-module="conduit"]')).toMatch(/silent for more than 30 min: A0000001/);
    const pts = Array.from({ length: 40 }, (_, i) => ({
      dev_netid: 'A0000001',
      dev_chid: 1,
      val_date: nowS() - (40 - i) * 60,
      val_raw: Math.sin(i / 5),
      dev_site: 'Site-1',
    }));
    expect((await ingest(pts)).statusCode).toBeLessThan(300);
    await tile('conduit', 'green');

    await b.page.goto(`${base}/console#/conduit`);
    await b.page.click('#conduit-devices tr[data-netid="A0000001"] button.link');
    await b.page.waitForSelector('.chart[data-points="41"] canvas');
    expect(await b.page.textContent('#point-count')).toBe('41 datapoint(s)');
    await b.shot('conduit');

    // each user's plan is shown and changed through the operator API
    const plan = '#conduit-users tr[data-user="ops"] select.plan';
    await b.page.waitForFunction((sel) => document.querySelector<HTMLSelectElement>(sel)?.value === 'spec', plan);
    const patched = b.page.waitForResponse(
      (r) => r.url().endsWith('/admin/conduit/users/ops') && r.request().method() === 'PATCH',
    );
    await b.page.selectOption(plan, 'pro');
    expect((await patched).status()).toBe(200);
    expect((await admin('GET', '/admin/conduit/users')).json()).toMatchObject([{ name: 'ops', plan: 'pro' }]);
    await b.page.reload();
    await b.page.waitForFunction((sel) => document.querySelector<HTMLSelectElement>(sel)?.value === 'pro', plan);
    expect((await admin('PATCH', '/admin/conduit/users/ops', { plan: 'spec' })).statusCode).toBe(200);
  });

  it('sync: a node that hangs turns the tile red, the tile is green once it answers again', async () => {
    nodeMode = 'hang';
    await b.page.goto(`${base}/console#/sync`);
    await b.page.click('#pull-now');
    await b.page.waitForSelector('#sync-health.red');
    expect(await b.page.textContent('#sync-peers')).toMatch(/timed out/);
    await overview();
    await tile('sync', 'red');
    await b.shot('overview-sync-red');
    nodeMode = 'ok';
    await b.page.goto(`${base}/console#/sync`);
    await b.page.click('#pull-now');
    await b.page.waitForSelector('#sync-health.green');
    await overview();
    await tile('sync', 'green');
    await b.page.goto(`${base}/console#/sync`);
    await b.page.waitForSelector('#sync-payloads tbody tr');
    await b.shot('sync');
  });

  it('sync: "Mark read" marks one notification read, "Mark all read" the rest; the unread counts follow', async () => {
    const unread = async () => (await admin('GET', '/admin/sync/notifications')).json<{ unread: number }>().unread;
    const before = await unread();
    expect(before).toBeGreaterThan(1); // the failed and the successful pull of the test before
    await b.page.goto(`${base}/console#/sync`);
    await b.page.waitForSelector('#sync-notifications li.unread .mark-read');
    const id = await b.page.getAttribute('#sync-notifications li.unread', 'data-id');
    await b.page.click(`#sync-notifications li[data-id="${id}"] .mark-read`);
    await b.page.waitForSelector(`#sync-notifications li.read[data-id="${id}"]`);
    expect(await b.page.$(`#sync-notifications li[data-id="${id}"] .mark-read`)).toBeNull();
    expect(await unread()).toBe(before - 1);
    await b.page.waitForSelector(`#sync-unread:text("${before - 1} unread")`);
    await b.page.click('#mark-all-read');
    await b.page.waitForSelector('#sync-unread:text("0 unread")');
    expect(await b.page.$('#sync-notifications li.unread')).toBeNull();
    expect(await unread()).toBe(0);
    const counts = (await admin('GET', '/admin/sync/health')).json<{ counts: { unread: number } }>().counts;
    expect(counts.unread).toBe(0);
    await overview();
    await b.page.waitForSelector('.tile[data-module="sync"] .counts:has-text("unread")');
    await b.shot('sync-notifications-read');
  });

  it('patriot: smbd down turns the tile red after the import run, green after a run with smbd back', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: '/clients',
      headers: { authorization: `Bearer ${KEY_A}` },
      payload: { client_id: 1001, info: { Name: 'Kari Nordmann' } },
    });
    expect(put.statusCode).toBe(201);
    await smbd.stop();
    await b.page.goto(`${base}/console#/patriot`);
    await b.page.click('#run-import');
    await b.page.waitForSelector('#import-runs tr[data-result="failed"]');
    await b.page.waitForSelector('#patriot-health.red');
    await overview();
    await tile('patriot', 'red');
    expect(await b.page.textContent('.tile[data-module="patriot"]')).toMatch(/last import run failed/);
    await b.shot('overview-patriot-red');
    await smbd.start();
    await b.page.goto(`${base}/console#/patriot`);
    await b.page.click('#run-import');
    await b.page.waitForSelector('#import-runs tr[data-result="ok"]');
    expect(await b.page.textContent('#run-result')).toMatch(/run ok/);
    await overview();
    await tile('patriot', 'green');
    await b.page.goto(`${base}/console#/patriot`);
    await b.shot('patriot');
    await b.page.goto(`${base}/console#/patriot/Alarm24`);
    await b.page.waitForSelector('#patriot-clients tr[data-client="1001"]');
    expect(await b.page.textContent('#patriot-clients tr[data-client="1001"]')).toMatch(/pending_import/);
    await b.page.click('#patriot-clients tr[data-client="1001"] button');
    await b.page.waitForSelector('#patriot-clients tr[data-client="1001"] .pill.changed');
    await b.shot('patriot-clients');
  });

  it('hostile data (markup, RTL overrides, 10 KB strings) is shown as text on every page: no script runs, layout holds', async () => {
    // push: a command whose endpoint and device answer are hostile
    const dev = new SimDevice(base, '77');
    await dev.poll();
    for (const h of HOSTILE)
      expect(
        (await admin('POST', '/admin/push/devices/77/commands', { endpoint: 'hostile', body: h })).statusCode,
      ).toBe(201);
    for (let i = 0; i < HOSTILE.length; i++) {
      const p = await dev.poll();
      await dev.result(JSON.stringify({ response: { text: `${HOSTILE[i]} ${LONG}` } }));
      expect(p.command).toBeDefined();
    }
    // patriot: client names from installers
    for (const [i, h] of HOSTILE.entries()) {
      const r = await t.app.inject({
        method: 'PUT',
        url: '/clients',
        headers: { authorization: `Bearer ${KEY_A}` },
        payload: { client_id: 2000 + i, info: { Name: h } },
      });
      expect(r.statusCode).toBe(201);
    }
    // conduit: device tags and sites (the sites granted to the user first)
    for (const h of HOSTILE)
      expect(
        (await admin('PUT', `/admin/conduit/users/ops/sites/${encodeURIComponent(h.slice(0, 100))}`)).statusCode,
      ).toBe(200);
    const pts = HOSTILE.map((h, i) => ({
      dev_netid: `B000000${i}`,
      dev_chid: 1,
      val_date: nowS(),
      val_raw: i,
      dev_site: h.slice(0, 100),
      dev_tag: `${h} ${'T'.repeat(200)}`.slice(0, 256),
    }));
    expect((await ingest(pts)).statusCode).toBeLessThan(300);

    const pages: Array<[string, string, string]> = [
      ['overview', '#/', '.tile'],
      ['push', '#/push', '#push-devices tr[data-device="77"]'],
      ['push-device-hostile', '#/push/77', '#commands tr[data-status="done"]'],
      ['patriot-clients-hostile', '#/patriot/Alarm24', '#patriot-clients tr[data-client="2000"]'],
      ['conduit-hostile', '#/conduit', '#conduit-devices tr[data-netid="B0000000"]'],
      ['sync', '#/sync', '#sync-peers'],
    ];
    for (const [name, hash, ready] of pages) {
      await b.page.goto(`${base}/console${hash}`);
      await b.page.waitForSelector(ready);
      const r = await b.page.evaluate(() => {
        const w = window as unknown as { __csp: string[]; __pwned: number };
        return {
          pwned: w.__pwned,
          csp: w.__csp,
          injected: document.querySelectorAll('img[src="x"], svg[onload], #app script, [onerror]').length,
          text: document.body.innerText,
          overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        };
      });
      expect(r.pwned, name).toBe(0);
      expect(r.csp, name).toEqual([]);
      expect(r.injected, name).toBe(0);
      expect(r.overflow, name).toBeLessThanOrEqual(1);
      // the device's answer is shown as JSON (quotes escaped), the rest as the text itself
      if (name === 'push-device-hostile')
        for (const h of HOSTILE) expect(r.text).toContain(JSON.stringify(h).slice(1, -1));
      if (name === 'patriot-clients-hostile') for (const h of HOSTILE) expect(r.text).toContain(h);
      if (name === 'conduit-hostile') expect(r.text).toContain(HOSTILE[0]);
      await b.shot(name);
    }
  });

  it('signs out: the session no longer authorises the operator API', async () => {
    await b.page.goto(`${base}/console#/`);
    await b.page.click('#logout');
    await b.page.waitForSelector('#signin');
    expect(await b.page.evaluate(() => fetch('/admin/push/health').then((r) => r.status))).toBe(401);
  });
});
