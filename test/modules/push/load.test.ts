/** 1,000 simulated devices polling at once, commands for 10% of them: every command answered exactly once. */
import { describe, expect, it } from 'vitest';
import { ADMIN, makeApp, closesItself } from '../../helpers/app.js';
import { row, rows, rowsOfStore } from './helpers.js';
import { http, SimDevice, sleep } from './sim.js';

describe('push under 1,000 concurrent devices', () => {
  it('answers every command exactly once, in order per device', async () => {
    const t = closesItself(
      await makeApp({ push: { resultTimeoutSeconds: 30, lastSeenFlushMs: 200 }, server: { logLevel: 'warn' } }),
    );
    const url = await t.listen();
    const base = 5_000_000_000_000_000_000n; // above 2^53: ids must survive as strings
    const ids = Array.from({ length: 1000 }, (_, i) => String(base + BigInt(i)));
    const withWork = ids.filter((_, i) => i % 10 === 3); // 100 devices
    const PER_DEVICE = 3;
    const bulk = async (k: number) => {
      const r = await http(`${url}/admin/push/commands`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceIds: withWork, endpoint: `step_${k}`, body: { k } }),
      });
      expect(r.status).toBe(201);
      return (JSON.parse(r.text) as { commands: Array<{ deviceId: string; id: string }> }).commands;
    };
    const received = new Map<string, string[]>(ids.map((id) => [id, []]));
    let stop = false;
    const loop = async (id: string) => {
      const dev = new SimDevice(url, id);
      let polls = 0;
      while (!stop || polls < 3) {
        const c = await dev.step();
        polls++;
        if (c) received.get(id)!.push(c.uuid);
        else await sleep(300 + Math.random() * 400); // an idle device polls again after its poll period
      }
      return polls;
    };
    // devices come online in waves (a thousand SYNs in one millisecond overflow the accept queue of any
    // server on a busy loop and cost 1 s SYN retries); each keeps its keep-alive connection afterwards
    for (let i = 0; i < ids.length; i += 100)
      await Promise.all(ids.slice(i, i + 100).map((id) => new SimDevice(url, id).poll()));
    const queued = [...(await bulk(0)), ...(await bulk(1))];
    const loops = ids.map(loop);
    await sleep(100);
    queued.push(...(await bulk(2))); // queued while the devices are polling
    const deadline = Date.now() + 100_000;
    while (
      [...received.values()].reduce((n, l) => n + l.length, 0) < withWork.length * PER_DEVICE &&
      Date.now() < deadline
    )
      await sleep(50);
    stop = true;
    const polls = await Promise.all(loops);
    expect(polls.every((n) => n >= 3)).toBe(true);

    // every device got exactly its commands, once each, in queue order
    for (const id of ids) {
      const expected = queued.filter((c) => c.deviceId === id).map((c) => c.id);
      expect(received.get(id), id).toEqual(expected);
    }
    expect(
      await rows(
        t.app,
        'SELECT status, COUNT(*) AS n, MAX(attempts) AS "maxAttempts" FROM push_commands GROUP BY status',
      ),
    ).toEqual([{ status: 'done', n: 300, maxAttempts: 1 }]);
    expect(await row(t.app, "SELECT COUNT(*) AS n FROM push_command_events WHERE status = 'done'")).toEqual({ n: 300 });
    expect(await row(t.app, 'SELECT COUNT(*) AS n FROM push_unmatched_results')).toEqual({ n: 0 });
    const responses = (await rows(t.app, 'SELECT endpoint, response FROM push_commands')) as Array<{
      endpoint: string;
      response: string;
    }>;
    for (const r of responses) expect(JSON.parse(r.response)).toMatchObject({ endpoint: r.endpoint });
    await t.app.close();
    // every device's last-seen was written, the last ones by the close
    expect(
      await rowsOfStore(t.config, 'SELECT COUNT(*) AS n FROM push_devices WHERE last_seen_at IS NOT NULL'),
    ).toEqual([{ n: 1000 }]);
  }, 120_000);
});
