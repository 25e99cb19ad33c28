/**
 * Two replicas on one PostgreSQL behind HAProxy (deploy/replicas/haproxy.cfg, the shipped file),
 * mixed load through HAProxy (Conduit batches, Patriot client writes, Control iD devices working
 * through their queue, as bench/mixed), and one replica kill -9ed midway (issue 17). Afterwards:
 * every 2xx-acknowledged write is in the database, no command was executed twice by a device whose
 * result was acknowledged, every command ends done exactly once, and the scheduled job (Conduit
 * retention every 2 s) goes on with its next slot on the survivor. Runs in the PostgreSQL run only.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ControlIdDevice } from '../sim/controlid-device.js';
import { onPostgres, pgUrlFor } from '../helpers/driver.js';
import { freePort } from '../modules/patriot/helpers/smbd.js';
import {
  ADMIN_AUTH,
  http,
  jsonReq,
  pool,
  report,
  ROOT,
  SECRETS,
  startServer,
  suiteDataDirs,
} from './helpers/server.js';

const { dataDir } = suiteDataDirs();

function haproxyMissing(): string | null {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'haproxy not found: install the Debian package "haproxy" (.ci/run does)';
  }
}

async function startHaproxy(a: number, b: number): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('haproxy', ['-db', '-f', path.join(ROOT, 'deploy/replicas/haproxy.cfg')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      FIELDHUB_BIND: `127.0.0.1:${port}`,
      FIELDHUB_1: `127.0.0.1:${a}`,
      FIELDHUB_2: `127.0.0.1:${b}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited = false;
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  proc.once('exit', () => (exited = true));
  onTestFinished(() => {
    proc.kill('SIGKILL');
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const ok = await http(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (exited) throw new Error(`haproxy exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, proc };
}

const skip = !onPostgres ? 'the PostgreSQL run only (vitest.pg.config.ts)' : haproxyMissing();

describe.skipIf(skip)('two replicas on one PostgreSQL, one killed -9 under mixed load', () => {
  it('loses no acknowledged write, executes no answered command twice, and the survivor runs the jobs', async () => {
    const dirA = dataDir();
    const dirB = dataDir();
    const url = pgUrlFor(dirA);
    const cfg = {
      store: { driver: 'postgres', url },
      push: { resultTimeoutSeconds: 5, maxAttempts: 20, pollPeriodSeconds: 1 },
      conduit: { retentionDays: 3650, retentionCron: '*/2 * * * * *' },
    };
    const a = await startServer({ dataDir: dirA, config: cfg, name: 'replica-a' });
    const b = await startServer({ dataDir: dirB, config: cfg, name: 'replica-b' });
    const lb = await startHaproxy(a.port, b.port);

    expect(
      (
        await jsonReq(
          `${lb.url}/admin/conduit/users`,
          'POST',
          { name: 'replicas', token: SECRETS.conduit, sites: ['S1'], throttleSeconds: 0 },
          ADMIN_AUTH,
        )
      ).status,
    ).toBe(201);
    const DEVICES = 100;
    const ids = Array.from({ length: DEVICES }, (_, i) => String(5000 + i));
    for (let r = 0; r < 3; r++) {
      const q = await jsonReq(
        `${lb.url}/admin/push/commands`,
        'POST',
        { deviceIds: ids, endpoint: 'load_objects', body: { round: r } },
        ADMIN_AUTH,
      );
      expect(q.status).toBe(201);
    }
    const devices = ids.map(
      (id) =>
        new ControlIdDevice({
          remoteAddress: lb.url,
          deviceId: id,
          requestPeriodSeconds: 0.2,
          requestTimeoutMs: 10_000,
          resultRetries: 5,
        }),
    );

    const PER = 50;
    const T0 = Math.floor(Date.now() / 1000) - 3600; // an hour ago: retention (3650 days) keeps it
    const batch = (n: number) =>
      Array.from({ length: PER }, (_, j) => ({ dev_netid: `B${j % 5}`, dev_chid: n, val_date: T0 + j, val_raw: n }));
    const ackedBatches = new Set<number>();
    const ackedClients = new Set<number>();
    const patriotAuth = { authorization: `Bearer ${SECRETS.patriotA}` };
    let killedAt: Date | undefined;
    let acks = 0;
    let noAnswer = 0;
    const OPS = 1500;
    await pool(OPS, 16, async (i) => {
      try {
        if (i % 3 === 0) {
          const r = await jsonReq(`${lb.url}/conduitv6`, 'POST', batch(i), { 'x-api-key': SECRETS.conduit });
          if (r.status === 200) {
            ackedBatches.add(i);
            acks++;
          }
        } else if (i % 3 === 1) {
          const r = await jsonReq(
            `${lb.url}/clients`,
            'PUT',
            { client_id: i, info: { Name: `client ${i}` } },
            patriotAuth,
          );
          if (r.status === 201 || r.status === 200) {
            ackedClients.add(i);
            acks++;
          }
        } else {
          await devices[i % DEVICES]!.cycle();
        }
      } catch {
        // no answer (the killed replica's connection): not acknowledged
        noAnswer++;
      }
      if (!killedAt && acks >= 300) {
        killedAt = new Date();
        void a.kill9();
      }
    });
    expect(killedAt, 'replica A was killed midway').toBeDefined();
    expect(ackedBatches.size, 'acknowledged Conduit batches').toBeGreaterThan(20);
    expect(ackedClients.size, 'acknowledged Patriot clients').toBeGreaterThan(20);
    await a.exited;

    // the devices work on through the survivor until the queue is empty
    let finished = false;
    for (let round = 0; round < 300 && !finished; round++) {
      await pool(DEVICES, 16, async (i) => {
        try {
          await devices[i]!.cycle();
        } catch {
          // counted by the device's stats
        }
      });
      const d = await http(`${lb.url}/admin/push/devices`, { headers: ADMIN_AUTH });
      const devs = d.json<{ devices: Array<{ queued: number; inFlight: boolean }> }>().devices;
      finished = devs.length === DEVICES && devs.every((x) => x.queued === 0 && !x.inFlight);
    }
    expect(finished, 'every command finished on the survivor').toBe(true);
    // two more slots of the 2-second job after the kill, for the survivor to run
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    onTestFinished(() => db.end());
    const slotsAfter = async () =>
      (
        await db.query<{ slot: Date; replica: string }>(
          "SELECT slot, replica FROM job_runs WHERE job = 'conduit.retention' AND slot > $1 ORDER BY slot",
          [killedAt],
        )
      ).rows;
    for (let i = 0; i < 200 && (await slotsAfter()).length < 3; i++) await new Promise((r) => setTimeout(r, 100));

    // every acknowledged write is in the database
    const chids = new Set(
      (
        await db.query<{ chid: number; n: string }>('SELECT chid, count(*) AS n FROM conduit_datapoints GROUP BY chid')
      ).rows
        .filter((r) => Number(r.n) === PER)
        .map((r) => Number(r.chid)),
    );
    for (const n of ackedBatches) expect(chids.has(n), `acknowledged batch ${n}`).toBe(true);
    const clients = new Set(
      (
        await db.query<{ client_id: number }>("SELECT client_id FROM patriot_clients WHERE key_name = 'InstA'")
      ).rows.map((r) => Number(r.client_id)),
    );
    for (const id of ackedClients) expect(clients.has(id), `acknowledged client ${id}`).toBe(true);

    // push: every command done exactly once; no command executed twice whose result was acknowledged
    const cmds = (await db.query<{ id: string; status: string }>('SELECT id, status FROM push_commands')).rows;
    expect(cmds.length).toBe(DEVICES * 3);
    expect(cmds.filter((c) => c.status !== 'done')).toEqual([]);
    const doneEvents = (
      await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM push_command_events WHERE status = 'done' GROUP BY command_seq",
      )
    ).rows;
    expect(doneEvents.length).toBe(DEVICES * 3);
    expect(doneEvents.every((e) => Number(e.n) === 1)).toBe(true);
    const answeredTwice = devices.flatMap((d) => {
      const byUuid = new Map<string, { n: number; ackedFirst: boolean }>();
      for (const e of d.executions) {
        const k = e.command.uuid!;
        const x = byUuid.get(k);
        if (x) x.n++;
        else byUuid.set(k, { n: 1, ackedFirst: e.acked });
      }
      return [...byUuid].filter(([, x]) => x.n > 1 && x.ackedFirst).map(([k]) => k);
    });
    expect(answeredTwice, 'commands executed again after their acknowledged result').toEqual([]);

    // jobs: the slots after the kill are run by the survivor, each once (one row per slot)
    const after = await slotsAfter();
    expect(after.length).toBeGreaterThanOrEqual(3);
    const survivor = after[0]!.replica;
    expect(after.every((r) => r.replica === survivor)).toBe(true);
    const periodMs = 2000;
    const firstSlotAfterKill = Math.ceil(killedAt!.getTime() / periodMs) * periodMs;
    // the first slot claimed after the kill is at most one period after the first slot due
    expect(after[0]!.slot.getTime()).toBeLessThanOrEqual(firstSlotAfterKill + periodMs);

    await b.stop();
    report('replicas.kill9', {
      acks,
      noAnswer,
      batches: ackedBatches.size,
      clients: ackedClients.size,
      commands: cmds.length,
      executions: devices.reduce((n, d) => n + d.executions.length, 0),
      redelivered: devices.reduce((n, d) => n + d.executions.length, 0) - cmds.length,
      slotsAfterKill: after.length,
    });
  });
});
