/**
 * The push module's writes, run by the core writer thread (src/core/writer.ts): every change of the
 * push tables the server makes goes through these ops, so concurrent devices' deliveries and results
 * share one group commit and no push write runs on the main thread's connection. Each op is one store
 * transaction (store.ts, a savepoint inside the group); the caller answers after the group's COMMIT
 * and updates the in-memory queue (service.ts) from what the op returns, in the order the thread ran
 * them. The CLI, a process of its own, still writes through PushStore directly.
 */
import type { DB } from '../../core/db.js';
import type { ParsedResult } from './command.js';
import type { CommandRow, DeliverOutcome, Finished, ResultOutcome } from './rows.js';
import type { BodyEncoding, CommandSpec } from './schemas.js';
import { PushStore, type QueueSnapshot } from './store.js';

export interface PushWrites {
  'push.enqueue': {
    args: {
      deviceIds: readonly string[];
      spec: CommandSpec;
      opts: { defaultMaxAttempts: number; register: boolean; bodyEncoding: BodyEncoding; now: number };
    };
    value: CommandRow[];
  };
  'push.register': { args: { id: string; now: number }; value: boolean };
  'push.touch': {
    args: ReadonlyArray<{ id: string; registeredMs: number; lastSeenMs: number; address: string | null }>;
    value: void;
  };
  'push.deliver': {
    args: { deviceId: string; now: number; timeoutMs: number; deviceUuid?: string };
    value: DeliverOutcome;
  };
  'push.result': {
    args: { deviceId: string; parsed: ParsedResult; q: { uuid?: string; endpoint?: string }; raw: string; now: number };
    value: ResultOutcome;
  };
  /** closes the given in-flight commands whose last delivery timed out, and expires queued commands */
  'push.sweep': { args: { seqs: number[]; now: number }; value: { closed: Finished[]; expired: Finished[] } };
  'push.cancel': { args: { id: string; now: number }; value: { row?: CommandRow; finished?: Finished } };
  /** the queue as of this point of the writer's order (read inside the group, so no write is missed) */
  'push.snapshot': { args: undefined; value: QueueSnapshot };
}

type Ops = { [K in keyof PushWrites]: (args: PushWrites[K]['args']) => PushWrites[K]['value'] };

export function writes(db: DB): Ops {
  const s = new PushStore(db);
  return {
    'push.enqueue': (a) => s.enqueue(a.deviceIds, a.spec, a.opts),
    'push.register': (a) => s.registerDevice(a.id, 'operator', a.now),
    'push.touch': (batch) => s.touchDevices(batch),
    'push.deliver': (a) => s.deliverNext(a.deviceId, a.now, a.timeoutMs, a.deviceUuid),
    'push.result': (a) => s.recordResult(a.deviceId, a.parsed, a.q, a.raw, a.now),
    'push.sweep': (a) => {
      const closed: Finished[] = [];
      for (const seq of a.seqs) {
        const f = s.closeTimedOut(seq, a.now);
        if (f) closed.push(f);
      }
      return { closed, expired: s.expireQueued(a.now) };
    },
    'push.cancel': (a) => s.cancel(a.id, a.now),
    'push.snapshot': () => s.snapshot(),
  };
}
