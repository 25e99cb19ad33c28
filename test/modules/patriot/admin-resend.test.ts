/**
 * POST /admin/patriot/keys/:keyName/clients/:clientId/resend: a client id past the API's MAX_ID is
 * a 400 on both drivers (it was a 500 on PostgreSQL, whose client_id is INTEGER; found by the
 * resilience fuzz there); an id in range without a client stays a 404, also before the key has any
 * client (on SQLite that was a 500: the fsync of a folder not yet made); a client's is a 200.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ID } from '../../../src/modules/patriot/schemas.js';
import { ADMIN } from '../../helpers/app.js';
import { buildPatriot, INFO, KEY_A } from './helpers.js';

describe('admin resend of a client', () => {
  it('400 past MAX_ID, 404 without the client, 200 with it', async () => {
    const t = await buildPatriot();
    const resend = (id: number | string) =>
      t.app.inject({ method: 'POST', url: `/admin/patriot/keys/Alarm24/clients/${id}/resend`, headers: ADMIN });
    // before the key has a client (no XML folder yet): 404, not a 500
    expect((await resend(7)).statusCode).toBe(404);
    expect((await t.req(KEY_A, 'PUT', '/clients', { client_id: 7, info: INFO })).statusCode).toBe(201);
    expect((await resend(MAX_ID + 1)).statusCode).toBe(400);
    expect((await resend('9223372036854775808')).statusCode).toBe(400);
    expect((await resend(MAX_ID)).statusCode).toBe(404);
    const ok = await resend(7);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ keyName: 'Alarm24', clientId: 7, status: 'changed' });
  });
});
