/** `fieldhub push enqueue|status`, on the store, and picked up by a running server. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openStores } from '../../../src/app.js';
import type { Store } from '../../../src/core/db.js';
import pushModule from '../../../src/modules/push/index.js';
import { makeApp, tempDir, testConfig, closesItself } from '../../helpers/app.js';
import { command, rowsOfStore } from './helpers.js';
import { SimDevice, sleep } from './sim.js';

async function cli(dataDir: string, args: string[], push: Record<string, unknown> = {}) {
  const config = testConfig({ push }, dataDir);
  // as src/cli.ts: the configured driver's store (on postgres ctx.store is not to be read)
  const stores = await openStores(config);
  const lines: string[] = [];
  try {
    const [name, ...rest] = args;
    const code = await pushModule.commands![name!]!.run(rest, {
      config,
      store: stores.store ?? ({} as Store),
      pg: stores.pg,
      log: pino({ level: 'silent' }),
      out: (l) => lines.push(l),
    });
    return { code, out: lines.join('\n') };
  } finally {
    await stores.close();
  }
}

describe('push CLI', () => {
  it('enqueue prints the id; status prints the command with its history; a running server delivers it', async () => {
    const dataDir = tempDir();
    const t = closesItself(await makeApp({ push: { lastSeenFlushMs: 50 } }, { dataDir }));
    const url = await t.listen();
    const r = await cli(dataDir, [
      'enqueue',
      '9223372036854775807',
      'load_objects',
      '--body',
      '{"object":"users"}',
      '--verb',
      'POST',
    ]);
    expect(r.code).toBe(0);
    const { id, status } = JSON.parse(r.out) as { id: string; status: string };
    expect(status).toBe('queued');
    await sleep(200); // the server notices the other connection's commit on its next tick
    const p = await new SimDevice(url, '9223372036854775807').poll();
    // push.bodyEncoding "string" (the default): the body goes JSON-encoded, as in Control iD's samples
    expect(p.command).toEqual({ verb: 'POST', endpoint: 'load_objects', body: '{"object":"users"}', uuid: id });
    const s = await cli(dataDir, ['status', id]);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({
      id,
      deviceId: '9223372036854775807',
      status: 'delivered',
      history: [{ status: 'queued' }, { status: 'delivered' }],
    });
    expect(await command(url, id)).toMatchObject({ status: 'delivered' });
  });

  it('rejects bad input with a usage or error line and writes nothing', async () => {
    const dataDir = tempDir();
    const cases: Array<[string[], number, RegExp]> = [
      [['enqueue'], 2, /^usage: fieldhub push enqueue DEVICE_ID ENDPOINT/],
      [['enqueue', '1'], 2, /^usage:/],
      [['enqueue', '1.5', 'x'], 2, /int64/],
      [['enqueue', '1', '../x'], 2, /endpoint/],
      [['enqueue', '1', 'x', '--body', '{bad'], 2, /--body is not valid JSON/],
      [['enqueue', '1', 'x', '--nope', '1'], 2, /^error: /],
      [['enqueue', '1', 'x', '--content-type', 'application/octet-stream', '--body', '"%%%"'], 2, /base64/],
      [['status'], 2, /^usage: fieldhub push status ID/],
      [['status', 'missing'], 1, /no command missing/],
    ];
    for (const [args, code, re] of cases) {
      const r = await cli(dataDir, args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.out, args.join(' ')).toMatch(re);
    }
    const unknown = await cli(dataDir, ['enqueue', '77', 'x'], { allowUnknownDevices: false });
    expect(unknown).toMatchObject({ code: 1, out: expect.stringMatching(/not registered/) });
    expect(await rowsOfStore(testConfig({}, dataDir), 'SELECT COUNT(*) AS n FROM push_commands')).toEqual([{ n: 0 }]);
  });
});
