/** Sync notifications have a read state: mark one or all read over the operator API; health counts only the unread. */
import { describe, expect, it } from 'vitest';
import sync from '../../../src/modules/sync/index.js';
import { ADMIN, build, type TestApp } from '../../helpers/app.js';
import { form, notifications, notify, processNow, sql, TOKEN } from './helpers.js';

const app = () => build({ sync: { apiToken: TOKEN } }, { modules: [sync] });

async function post(t: TestApp, node: string) {
  const data = JSON.stringify({ data: [{ devMac: 'aa:bb:cc:00:00:01', devName: 'x' }] });
  const r = await t.app.inject({ method: 'POST', url: '/sync', ...form({ data, node_name: node, plugin: 'SYNC' }) });
  expect(r.statusCode, r.body).toBe(200);
}

const admin = (t: TestApp, method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url, headers: ADMIN, ...(payload ? { payload } : {}) });

type Listed = {
  notifications: Array<{ id: number; level: string; text: string; read: boolean }>;
  unread: number;
  unreadAlerts: number;
};
const list = async (t: TestApp) => (await admin(t, 'GET', '/admin/sync/notifications')).json<Listed>();
const healthCounts = async (t: TestApp) =>
  (await admin(t, 'GET', '/admin/sync/health')).json<{ counts: Record<string, unknown> }>().counts;

describe('sync notifications: read state', () => {
  it('are unread when written; marking one read changes its state and the unread counts, twice is no error', async () => {
    const t = await app();
    await post(t, 'N1');
    await processNow(t);
    const before = await list(t);
    expect(before.notifications).toHaveLength(2);
    expect(before.notifications.every((n) => !n.read)).toBe(true);
    expect(before).toMatchObject({ unread: 2, unreadAlerts: 0 });
    expect(await healthCounts(t)).toMatchObject({ unread: 2, unreadAlerts: 0 });

    const id = before.notifications[1]!.id;
    const r = await admin(t, 'POST', `/admin/sync/notifications/${id}/read`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ id, read: true });
    expect((await admin(t, 'POST', `/admin/sync/notifications/${id}/read`)).statusCode).toBe(200);

    const after = await list(t);
    expect(after.notifications.map((n) => [n.id, n.read])).toEqual([
      [before.notifications[0]!.id, false],
      [id, true],
    ]);
    expect(after.unread).toBe(1);
    expect(await healthCounts(t)).toMatchObject({ unread: 1 });
  });

  it('marks all read, or those up to the newest one seen; later ones stay unread', async () => {
    const t = await app();
    await post(t, 'N1');
    await processNow(t);
    const seen = (await list(t)).notifications[0]!.id;
    await post(t, 'N2');
    await processNow(t);
    const r = await admin(t, 'POST', '/admin/sync/notifications/read', { upToId: seen });
    expect(r.json()).toEqual({ marked: 2 });
    let l = await list(t);
    expect(l.unread).toBe(2);
    expect(l.notifications.filter((n) => n.read).map((n) => n.id)).toEqual([seen, seen - 1]);

    expect((await admin(t, 'POST', '/admin/sync/notifications/read', {})).json()).toEqual({ marked: 2 });
    l = await list(t);
    expect(l.unread).toBe(0);
    expect(l.notifications.every((n) => n.read)).toBe(true);
    expect(await healthCounts(t)).toMatchObject({ unread: 0, unreadAlerts: 0 });
  });

  it('counts unread alerts apart; a read mark goes with its notification when the core prunes it', async () => {
    const t = await app();
    await notify(t, 'sync', 'alert', 'node N1 failed');
    await notify(t, 'patriot', 'alert', 'not a sync notification');
    expect(await list(t)).toMatchObject({ unread: 1, unreadAlerts: 1 });
    const id = (await list(t)).notifications[0]!.id;
    await admin(t, 'POST', `/admin/sync/notifications/${id}/read`);
    expect(await list(t)).toMatchObject({ unread: 0, unreadAlerts: 0 });
    const later = new Date(Date.now() + 60_000);
    if (t.app.pg) await t.app.pg.pruneNotifications(later);
    else t.app.store.pruneNotifications(later);
    expect(await sql(t, 'SELECT COUNT(*) AS n FROM sync_notifications_read')).toEqual([{ n: 0 }]);
  });

  it('refuses an unknown id, another module notification and a bad id; needs the admin token', async () => {
    const t = await app();
    await notify(t, 'patriot', 'info', 'patriot note');
    const other = (await notifications(t, 'patriot'))[0]!.id;
    const unknown = await admin(t, 'POST', '/admin/sync/notifications/9999/read');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ statusCode: 404, message: 'no sync notification 9999' });
    expect((await admin(t, 'POST', `/admin/sync/notifications/${other}/read`)).statusCode).toBe(404);
    expect((await admin(t, 'POST', '/admin/sync/notifications/abc/read')).statusCode).toBe(400);
    expect((await admin(t, 'POST', '/admin/sync/notifications/read', { upToId: 'x' })).statusCode).toBe(400);
    const anon = await t.app.inject({ method: 'POST', url: '/admin/sync/notifications/read', payload: {} });
    expect(anon.statusCode).toBe(401);
  });

  it('documents the read endpoints in OpenAPI', async () => {
    const t = await app();
    const doc = (await t.app.inject('/docs/json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(doc.paths['/admin/sync/notifications/{id}/read']).toHaveProperty('post');
    expect(doc.paths['/admin/sync/notifications/read']).toHaveProperty('post');
  });
});
