/**
 * Two fieldhub replicas on one PostgreSQL database (issue 17): a payload received by one is processed
 * once across both (claimed with FOR UPDATE SKIP LOCKED) and visible on the other; what a dead replica
 * left is processed by the survivor without a restart. PostgreSQL only (the run of vitest.pg.config.ts).
 */
import { rmSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ProcessNextDone } from '../../../src/modules/sync/writes.js';
import sync from '../../../src/modules/sync/index.js';
import { closesItself, makeApp, tempDir, type TestApp } from '../../helpers/app.js';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';
import { AUTH, device, form, processNow, sql, TOKEN, waitFor } from './helpers.js';

/** two replicas: their own data dirs, one database (the same explicit store) */
async function replicas(): Promise<[TestApp, TestApp]> {
  const named = tempDir('fieldhub-replicas-'); // names the database only
  onTestFinished(() => rmSync(named, { recursive: true, force: true }));
  const url = pgUrlFor(named);
  const one = async () =>
    closesItself(
      await makeApp(
        { store: { driver: 'postgres', url }, sync: { apiToken: TOKEN } },
        { modules: [sync], startScheduler: false },
      ),
    );
  return [await one(), await one()];
}

const processed = async (t: TestApp) => {
  const m = /fieldhub_sync_payloads_total\{source="post",result="processed"\} (\d+)/.exec(
    (await t.app.inject('/metrics')).body,
  );
  return m ? Number(m[1]) : 0;
};

async function hubDevices(t: TestApp): Promise<string[]> {
  const r = await t.app.inject({ url: '/sync/devices?limit=1000', headers: AUTH });
  expect(r.statusCode, r.body).toBe(200);
  return (r.json().devices as Array<{ devMac: string }>).map((d) => d.devMac);
}

/** what a replica that died after its COMMIT leaves: `received` rows with their payloads, never processed */
async function leftBehind(t: TestApp, node: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const id = await t.app.pg!.query<{ id: string }>(
      `INSERT INTO sync_received (plugin, node, seq, source, received_at, bytes, status)
       VALUES ('SYNC', $1, $2, 'post', $3, 10, 'received') RETURNING id`,
      [node, i, new Date().toISOString()],
    );
    await t.app.pg!.query('INSERT INTO sync_payloads (name, id, data) VALUES ($1, $2, $3)', [
      `last_result.SYNC.encoded.${node}.${i}.log`,
      id.rows[0]!.id,
      Buffer.from(JSON.stringify({ data: [device(1000 + i)] })),
    ]);
  }
}

describe.skipIf(!onPostgres)('sync on two replicas of one database', () => {
  it('a payload received by A is processed once and visible on B (GET /sync/devices, GET /sync, notifications)', async () => {
    const [a, b] = await replicas();
    const before = (await b.app.inject({ url: '/sync', headers: AUTH })).headers.etag;
    // posts to A while B's worker races for the same queue
    const posts = Array.from({ length: 24 }, (_, i) =>
      a.app.inject({
        method: 'POST',
        url: '/sync',
        ...form({ data: JSON.stringify({ data: [device(i)] }), node_name: `N${i % 3}`, plugin: 'SYNC' }),
      }),
    );
    const racing = Promise.all([processNow(b), processNow(b)]);
    expect((await Promise.all(posts)).map((r) => r.statusCode)).toEqual(Array(24).fill(200));
    await racing;
    await Promise.all([processNow(a), processNow(b)]);

    expect(await sql(a, 'SELECT status, count(*) AS n FROM sync_received GROUP BY status')).toEqual([
      { status: 'processed', n: 24 },
    ]);
    // once: one "Processed" notification per payload, and the two replicas' counts add up to 24
    const notes = await b.app.pg!.listNotifications('sync', { limit: 1000 });
    const done = notes.filter((n) => n.text.includes('Processed last_result.SYNC.encoded.'));
    expect(done).toHaveLength(24);
    expect(new Set(done.map((n) => /encoded\.(N\d\.\d+)\.log/.exec(n.text)![1])).size).toBe(24);
    expect((await processed(a)) + (await processed(b))).toBe(24);

    expect(await hubDevices(b)).toHaveLength(24);
    expect(await hubDevices(b)).toEqual(await hubDevices(a));
    const served = await b.app.inject({ url: '/sync', headers: AUTH });
    expect(served.headers.etag).not.toBe(before);
    const data = JSON.parse(Buffer.from(served.json().data_base64 as string, 'base64').toString('utf8')) as {
      data: unknown[];
    };
    expect(data.data).toHaveLength(24);
  });

  it('concurrent claims of the two replicas never take the same payload', async () => {
    const [a, b] = await replicas();
    await leftBehind(a, 'DEAD', 40);
    const claim = (t: TestApp) =>
      t.app.writer
        .run<ProcessNextDone>('sync.processNext', { behavior: 'merge', passphrase: '', max: 5, maxBytes: 1 << 20 })
        .then((r) => r.value.rows.map((x) => x.id));
    const claimed: number[] = [];
    for (;;) {
      const round = (await Promise.all([claim(a), claim(b), claim(a), claim(b)])).flat();
      if (round.length === 0) break;
      claimed.push(...round);
    }
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed).size).toBe(40);
    expect(await sql(b, "SELECT count(*) AS n FROM sync_received WHERE status = 'processed'")).toEqual([{ n: 40 }]);
  });

  it('what a dead replica received and never processed is processed by the survivor, without a restart', async () => {
    const [a, b] = await replicas();
    await a.close();
    await leftBehind(b, 'GONE', 3);
    // nobody kicks B: its periodic look at the queue finds the rows
    await waitFor(
      async () =>
        (await sql(b, "SELECT count(*) AS n FROM sync_received WHERE status = 'processed'"))[0]!.n === 3
          ? true
          : undefined,
      20_000,
    );
    expect(await hubDevices(b)).toHaveLength(3);
  });
});
