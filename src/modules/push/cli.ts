/**
 * `fieldhub push enqueue|status`: the operator API for scripts, straight on the store (SQLite:
 * PushStore; PostgreSQL: the writes-pg.ts op, whose NOTIFY tells the running replicas at once).
 */
import { parseArgs } from 'node:util';
import { zodIssueText } from '../../core/errors.js';
import type { CliCommand } from '../../core/module.js';
import { PgWriter } from '../../core/pg.js';
import { commandSpecSchema } from './schemas.js';
import { DEVICE_ID_HINT, parseDeviceId } from './device-id.js';
import { commandView, type CommandRow } from './rows.js';
import { PushStore, UnknownDeviceError, type PushReads } from './store.js';
import { PushStorePg } from './store-pg.js';
import { writesPg } from './writes-pg.js';
import type { PushWrites } from './writes.js';

const enqueue: CliCommand = {
  usage:
    'DEVICE_ID ENDPOINT [--body JSON] [--verb GET|POST] [--content-type T] [--query-string Q] [--expires-at ISO] [--max-attempts N] [--body-encoding string|object]',
  summary: 'queue a command for a device; prints {"id","status"}',
  async run(args, { config, store, pg, out }) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          body: { type: 'string' },
          verb: { type: 'string' },
          'content-type': { type: 'string' },
          'query-string': { type: 'string' },
          'expires-at': { type: 'string' },
          'max-attempts': { type: 'string' },
          'body-encoding': { type: 'string' },
        },
      });
    } catch (e) {
      out(`error: ${(e as Error).message}`);
      return 2;
    }
    const [device, endpoint, ...extra] = parsed.positionals;
    const deviceId = parseDeviceId(device);
    if (!deviceId || !endpoint || extra.length) {
      out(deviceId || !device ? `usage: fieldhub push enqueue ${enqueue.usage}` : `error: ${DEVICE_ID_HINT}`);
      return 2;
    }
    const v = parsed.values;
    let body: unknown;
    if (v.body !== undefined) {
      try {
        body = JSON.parse(v.body);
      } catch {
        out('error: --body is not valid JSON (quote strings: --body \'"text"\')');
        return 2;
      }
    }
    const spec = commandSpecSchema.safeParse({
      endpoint,
      body,
      verb: v.verb,
      contentType: v['content-type'],
      queryString: v['query-string'],
      expiresAt: v['expires-at'],
      maxAttempts: v['max-attempts'] === undefined ? undefined : Number(v['max-attempts']),
      bodyEncoding: v['body-encoding'],
    });
    if (!spec.success) {
      out(`error: ${zodIssueText(spec.error)}`);
      return 2;
    }
    const opts = {
      defaultMaxAttempts: config.push.maxAttempts,
      register: config.push.allowUnknownDevices,
      bodyEncoding: config.push.bodyEncoding,
      now: Date.now(),
    };
    try {
      let row: CommandRow | undefined;
      if (pg) {
        const a: PushWrites['push.enqueue']['args'] = { deviceIds: [deviceId], spec: spec.data, opts };
        [row] = (await new PgWriter(pg, writesPg()).run<CommandRow[]>('push.enqueue', a)).value;
      } else {
        [row] = new PushStore(store.db).enqueue([deviceId], spec.data, opts);
      }
      out(JSON.stringify({ id: row!.id, status: row!.status }));
      return 0;
    } catch (e) {
      if (e instanceof UnknownDeviceError) {
        out(`error: ${e.message}`);
        return 1;
      }
      throw e;
    }
  },
};

const status: CliCommand = {
  usage: 'ID',
  summary: 'print a command with its result and history (JSON)',
  async run(args, { store, pg, out }) {
    if (args.length !== 1) {
      out(`usage: fieldhub push status ${status.usage}`);
      return 2;
    }
    const s: PushReads = pg ? new PushStorePg(pg) : new PushStore(store.db);
    const row = await s.byId(args[0]!);
    if (!row) {
      out(`error: no command ${args[0]}`);
      return 1;
    }
    out(JSON.stringify(commandView(row, await s.events(row.seq), await s.deliveries(row.seq)), null, 2));
    return 0;
  },
};

export const commands = { enqueue, status };
