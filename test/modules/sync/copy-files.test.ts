/**
 * `fieldhub store migrate-to-postgres` for sync's files (FieldhubModule.copyFilesToPg / verifyFilesPg):
 * the payload files under log/plugins copied into sync_payloads, re-runnable, count + checksum, and a
 * copied payload still `received` processed from the database. PostgreSQL only.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import sync from '../../../src/modules/sync/index.js';
import { closesItself } from '../../helpers/app.js';
import { onPostgres } from '../../helpers/driver.js';
import { AUTH, device, files, fileText, pluginDir, processNow, sql, syncApp } from './helpers.js';

describe.skipIf(!onPostgres)('sync payload files copied into PostgreSQL', () => {
  it('copies every payload file with a row, by name, twice the same; verify recomputes count and checksum', async () => {
    const t = closesItself(await syncApp({}, { startScheduler: false }));
    const pg = t.app.pg!;
    // the rows as the generic table copy brings them over from SQLite
    const now = new Date().toISOString();
    for (const [node, seq, status] of [
      ['P', 1, 'processed'],
      ['F', 1, 'failed'],
      ['R', 1, 'received'],
      ['L', 1, 'lost'],
    ] as const)
      await pg.query(
        `INSERT INTO sync_received (plugin, node, seq, source, received_at, bytes, status) VALUES ('SYNC', $1, $2, 'post', $3, 10, $4)`,
        [node, seq, now, status],
      );
    await pg.query(
      "INSERT INTO sync_sequences VALUES ('SYNC', 'P', 1), ('SYNC', 'F', 1), ('SYNC', 'R', 1), ('SYNC', 'L', 1)",
    );
    const dir = pluginDir(t);
    mkdirSync(dir, { recursive: true });
    const content: Record<string, string> = {
      'processed_last_result.SYNC.P.1.log': JSON.stringify({ data: [device(1)] }),
      'failed_last_result.SYNC.encoded.F.1.log': 'not a payload',
      'last_result.SYNC.encoded.R.1.log': JSON.stringify({ data: [device(3)] }),
    };
    for (const [name, text] of Object.entries(content)) writeFileSync(path.join(dir, name), text);
    // not copied: a temp file, the decoded copy of an interrupted run, a file no row knows
    writeFileSync(path.join(dir, 'receiving.123.log.1'), 'temp');
    writeFileSync(path.join(dir, 'last_result.SYNC.decoded.R.1.log'), '{"data": [');
    writeFileSync(path.join(dir, 'last_result.SYNC.encoded.NOBODY.7.log'), 'orphan');

    const first = await sync.copyFilesToPg!(t.config.dataDir, pg);
    expect(first.files).toBe(3);
    expect(first.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await sync.copyFilesToPg!(t.config.dataDir, pg)).toEqual(first);
    expect(await sync.verifyFilesPg!(pg)).toEqual(first);
    const held = await sql<{ name: string; sha: string }>(
      t,
      "SELECT name, encode(sha256(data), 'hex') AS sha FROM sync_payloads ORDER BY name",
    );
    expect(held).toEqual(
      Object.entries(content)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([name, text]) => ({ name, sha: createHash('sha256').update(text).digest('hex') })),
    );
    // a changed byte in the database is seen by verify
    await pg.query("UPDATE sync_payloads SET data = 'x' WHERE name = 'failed_last_result.SYNC.encoded.F.1.log'");
    expect((await sync.verifyFilesPg!(pg)).checksum).not.toBe(first.checksum);

    // the copied `received` payload is processed from the database
    await processNow(t);
    expect(await files(t)).toEqual([
      'failed_last_result.SYNC.encoded.F.1.log',
      'processed_last_result.SYNC.P.1.log',
      'processed_last_result.SYNC.R.1.log',
    ]);
    expect(await fileText(t, 'processed_last_result.SYNC.P.1.log')).toBe(content['processed_last_result.SYNC.P.1.log']);
    const d = await t.app.inject({ url: '/sync/devices', headers: AUTH });
    expect(d.json().devices.map((x: { devSyncHubNode: string }) => x.devSyncHubNode)).toEqual(['R']);
  });

  it('no plugin folder: nothing copied', async () => {
    const t = closesItself(await syncApp({}, { startScheduler: false }));
    const r = await sync.copyFilesToPg!(t.config.dataDir, t.app.pg!);
    expect(r.files).toBe(0);
    expect(await sync.verifyFilesPg!(t.app.pg!)).toEqual(r);
  });
});
