/**
 * The sync module's writes, run by the core writer thread (src/core/writer.ts): every change of the
 * sync tables (and of sync's rows of core's `notifications`) the server makes goes through these
 * ops, so concurrent payloads share one group commit and no sync write runs on the main thread's
 * connection (its COMMIT's fsync would hold the event loop). Each op is one store transaction
 * (store.ts, a savepoint inside the group); the caller goes on after the group's COMMIT. The CLI, a
 * process of its own, still writes through SyncStore directly.
 */
import type { DB } from '../../core/db.js';
import { SyncNotifications } from './notifications.js';
import type { Parsed } from './payload.js';
import { SyncStore, type Behavior, type ReceivedRow, type ReceiveItem } from './store.js';
import { errText, TAG } from './text.js';

export type Counts = { inserted: number; updated: number; skipped: number };

/** One payload of a processing group as the worker prepared it (read, decoded, parsed). */
export type ProcessItem = { id: number; plugin: string; node: string; seq: number; encoded: string } & (
  { outcome: 'ok'; parsed: Parsed } | { outcome: 'failed' | 'lost'; reason: string }
);

/** What became of it once the group's transaction ran (`applyFailed`: its apply threw and rolled back). */
export type ProcessDone =
  { outcome: 'ok'; counts?: Counts } | { outcome: 'failed' | 'lost'; reason: string; applyFailed?: boolean };

/** The rows a `sync.processNext` claimed and what became of each (empty: nothing left to claim). */
export type ProcessNextDone = { rows: ReceivedRow[]; done: ProcessDone[] };

export interface SyncWrites {
  /** next sequence number, the `received` row and its notification */
  'sync.receive': { args: ReceiveItem; value: { id: number; seq: number } };
  'sync.markFailed': {
    args: { id: number; status: 'failed' | 'lost'; error: string; note: string };
    value: void;
  };
  /** a processing group: every result and failure recorded in one transaction */
  'sync.process': { args: { behavior: Behavior; items: ProcessItem[] }; value: ProcessDone[] };
  /**
   * PostgreSQL only (writes-pg.ts): claims the oldest unclaimed `received` rows (at most `max`, and
   * `maxBytes` of data, one payload at least), decodes and applies them in one transaction
   */
  'sync.processNext': {
    args: { behavior: Behavior; passphrase: string; max: number; maxBytes: number };
    value: ProcessNextDone;
  };
  'sync.requeue': { args: number; value: void };
  'sync.notify': { args: { level: 'info' | 'alert'; texts: string[] }; value: void };
  'sync.markRead': { args: { id: number; at: string }; value: boolean };
  'sync.markAllRead': { args: { upToId?: number; at: string }; value: number };
}

type Ops = {
  [K in Exclude<keyof SyncWrites, 'sync.processNext'>]: (args: SyncWrites[K]['args']) => SyncWrites[K]['value'];
};

/** Applies one prepared payload (a savepoint of its own inside the group). */
function apply(s: SyncStore, p: ProcessItem & { outcome: 'ok' }, behavior: Behavior): Counts | undefined {
  const parsed = p.parsed;
  if (parsed.kind === 'devices') {
    const { inserted, updated } = s.applyDevices(p.id, p.node, parsed.devices, behavior, (ins, upd) => {
      const skipped = parsed.skipped ? `, ${parsed.skipped} skipped (no devMac or duplicate)` : '';
      return `${TAG} Processed ${p.encoded} from "${p.node}": inserted "${ins}" new devices, updated ${upd}${skipped}`;
    });
    return { inserted, updated, skipped: parsed.skipped };
  }
  s.applyRows(
    p.id,
    p.plugin,
    p.node,
    p.seq,
    parsed.rows,
    `${TAG} Processed ${p.encoded} from "${p.node}": ${parsed.rows.length} ${p.plugin} rows`,
  );
  return undefined;
}

function processGroup(s: SyncStore, behavior: Behavior, items: ProcessItem[]): ProcessDone[] {
  return items.map((p): ProcessDone => {
    let done: ProcessDone;
    if (p.outcome === 'ok') {
      try {
        done = { outcome: 'ok', counts: apply(s, p, behavior) };
      } catch (e) {
        done = { outcome: 'failed', reason: errText(e), applyFailed: true };
      }
    } else done = { outcome: p.outcome, reason: p.reason };
    if (done.outcome !== 'ok')
      s.markFailed(
        p.id,
        done.outcome,
        done.reason,
        `${TAG} Failed to process ${p.encoded} from "${p.node}": ${done.reason}`,
      );
    return done;
  });
}

export function writes(db: DB): Ops {
  const s = new SyncStore(db);
  const notes = new SyncNotifications(db);
  return {
    'sync.receive': (item) => s.receiveMany([item])[0]!,
    'sync.markFailed': (a) => s.markFailed(a.id, a.status, a.error, a.note),
    'sync.process': (a) => processGroup(s, a.behavior, a.items),
    'sync.requeue': (id) => s.requeue(id),
    'sync.notify': (a) => {
      for (const t of a.texts) s.notify(a.level, t);
    },
    'sync.markRead': (a) => notes.markRead(a.id, new Date(a.at)),
    'sync.markAllRead': (a) => notes.markAllRead(a.upToId, new Date(a.at)),
  };
}

/** `run` of app.writer typed by these ops: resolves with the op's value after its group's COMMIT. */
export type SyncWrite = <K extends keyof SyncWrites>(
  op: K,
  args: SyncWrites[K]['args'],
) => Promise<SyncWrites[K]['value']>;

export function syncWrite(writer: { run<T>(op: string, args?: unknown): Promise<{ value: T }> }): SyncWrite {
  return (op, args) => writer.run<SyncWrites[typeof op]['value']>(op, args).then((r) => r.value);
}
