import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, StoreVersionError } from '../../src/core/db.js';
import { tempDir } from '../helpers/app.js';

const m1 = [{ version: 1, name: 'a', sql: 'CREATE TABLE a (id INTEGER PRIMARY KEY);' }];
const m2 = [...m1, { version: 2, name: 'b', sql: 'ALTER TABLE a ADD COLUMN b TEXT;' }];

describe('store', () => {
  it('opens in WAL with foreign keys, a busy timeout and the configured synchronous level', () => {
    const s = new Store({ dataDir: tempDir(), synchronous: 'NORMAL', busyTimeoutMs: 1234 });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(s.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(s.db.pragma('busy_timeout', { simple: true })).toBe(1234);
    s.close();
    const f = new Store({ dataDir: tempDir() });
    expect(f.db.pragma('synchronous', { simple: true })).toBe(2); // FULL by default
    f.close();
  });

  it('migrations run once, in order, and a second start does not re-run them', () => {
    const dir = tempDir();
    const s1 = new Store({ dataDir: dir });
    expect(s1.migrate('mod', m1)).toEqual([1]);
    s1.close();
    const s2 = new Store({ dataDir: dir });
    expect(s2.migrate('mod', m1)).toEqual([]);
    expect(s2.applied).toEqual([]);
    expect(s2.migrate('mod', m2)).toEqual([2]);
    expect(s2.db.prepare("SELECT version FROM schema_migrations WHERE module='mod'").get()).toEqual({ version: 2 });
    s2.close();
  });

  it('a failing migration leaves nothing half-applied', () => {
    const dir = tempDir();
    const s = new Store({ dataDir: dir });
    const bad = [...m1, { version: 2, name: 'bad', sql: 'CREATE TABLE c (x); THIS IS NOT SQL;' }];
    expect(() => s.migrate('mod', bad)).toThrow();
    expect(s.db.prepare("SELECT name FROM sqlite_master WHERE name IN ('a','c')").all()).toEqual([]);
    expect(s.migrate('mod', m1)).toEqual([1]);
    s.close();
  });

  it('a database newer than the code refuses to open with a clear message', () => {
    const dir = tempDir();
    const s = new Store({ dataDir: dir });
    s.migrate('mod', m2);
    s.close();
    const s2 = new Store({ dataDir: dir });
    expect(() => s2.migrate('mod', m1)).toThrow(StoreVersionError);
    expect(() => s2.migrate('mod', m1)).toThrow(/mod schema version 2, newer than this fieldhub \(1\)/);
    s2.close();
    const raw = new Database(path.join(dir, 'fieldhub.sqlite'));
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new Store({ dataDir: dir })).toThrow(/core schema version 99/);
  });

  it('notifications are kept per module', () => {
    const s = new Store({ dataDir: tempDir() });
    s.notify('sync', 'alert', 'node X failed');
    s.notify('patriot', 'info', 'import ok');
    expect(s.listNotifications('sync')).toMatchObject([{ level: 'alert', text: 'node X failed' }]);
    s.close();
  });
});

describe('notification retention', () => {
  it('prunes only notifications older than the cut-off', () => {
    const s = new Store({ dataDir: tempDir() });
    const old = s.db.prepare(
      "INSERT INTO notifications (created_at, module, level, text) VALUES (?, 'sync', 'info', ?)",
    );
    for (let i = 0; i < 6000; i++) old.run('2020-01-01T00:00:00.000Z', `old ${i}`);
    s.notify('sync', 'info', 'fresh');
    expect(s.pruneNotifications(new Date('2021-01-01'))).toBe(6000);
    expect(s.listNotifications('sync').map((n) => n.text)).toEqual(['fresh']);
    s.close();
  });
});
