/**
 * A value PostgreSQL cannot hold (a NUL in text, a number past INTEGER): SQLite stores or looks it
 * up, PostgreSQL refuses the statement (SQLSTATE 22021, 22003). core's classify answers that 400
 * in the module's shape, not 500 (found by the resilience fuzz on PostgreSQL). Both drivers.
 */
import { describe, expect, it } from 'vitest';
import { classify, isUnstorableText } from '../../src/core/errors.js';
import { ADMIN, build } from '../helpers/app.js';
import { onPostgres } from '../helpers/driver.js';

describe('a value the store cannot keep', () => {
  it('classify: a PostgreSQL 22021 / 22P05 / 22003 is a 400; other database errors stay 500', () => {
    const pgError = (code: string) => Object.assign(new Error('invalid byte sequence'), { code, severity: 'ERROR' });
    expect(isUnstorableText(pgError('22021'))).toBe(true);
    expect(isUnstorableText(pgError('22P05'))).toBe(true);
    expect(classify(pgError('22021'))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'a value holds a character the store cannot keep (NUL)',
    });
    expect(classify(pgError('22003'))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'a number is out of the range the store keeps',
    });
    expect(classify(pgError('23505')).statusCode).toBe(500);
    expect(isUnstorableText(Object.assign(new Error('x'), { code: '22021' }))).toBe(false); // not a database error
  });

  it('a NUL in a lookup: 404 on SQLite (no such row), 400 on PostgreSQL (cannot be looked up), never 500', async () => {
    const { app } = await build({}, { startScheduler: false });
    const r = await app.inject({ method: 'DELETE', url: '/admin/push/commands/a%00b', headers: ADMIN });
    expect(r.statusCode).toBe(onPostgres ? 400 : 404);
    if (onPostgres)
      expect(r.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'a value holds a character the store cannot keep (NUL)',
      });
    const p = await app.inject({
      method: 'PATCH',
      url: '/admin/conduit/users/a%00b',
      headers: ADMIN,
      payload: { plan: 'enterprise' },
    });
    expect(p.statusCode).toBe(onPostgres ? 400 : 404);
    // a channel past INTEGER (chid is INTEGER on PostgreSQL): no datapoints on SQLite, 400 on PostgreSQL
    const d = await app.inject({ url: '/admin/conduit/datapoints?netid=x&chid=4294967296', headers: ADMIN });
    expect(d.statusCode, d.body).toBe(onPostgres ? 400 : 200);
  });
});
