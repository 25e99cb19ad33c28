/**
 * The patriot module's write ops, run by the core writer thread (src/core/writer.ts): every change
 * to patriot's tables (clients, zones, users, their import state, the import runs and batches) goes
 * through one of these, so nothing of patriot writes on the main connection while the writer holds
 * the lock. Concurrent requests share one COMMIT (group commit); each op is its own savepoint, so one
 * that throws (404, 409) rolls back alone. The SQL stays with each table's owner (store.ts,
 * client-state.ts, import/store.ts); these ops only combine their calls.
 *
 * Crash-safety order (unchanged by the group commit): the row first, then the file. An API change
 * commits its row together with the state row (status 'changed', xml_version + 1); only after that
 * COMMIT does the caller write the client's XML (service.ts), and it answers only after the file's
 * fsync, rename and directory fsync. A crash before the file leaves a committed 'changed' client
 * whose file is missing or still the previous one, which the start-up repair rewrites (repairAfterCrash); a
 * file is therefore never newer than the version the database shows, and an acknowledged change
 * is in both.
 *
 * Outside the server (the CLI, a bench without the app) the same ops run on the caller's own
 * connection through `localWrites`, one transaction per op.
 */
import type { DB } from '../../core/db.js';
import { ImportStore, type BatchItem, type RunRow } from './import/store.js';
import type { Info, User, Zone } from './schemas.js';
import { clientView, PatriotStore } from './store.js';

/** Runs one named write op and resolves with its value once it is committed. */
export type RunWrite = <T = unknown>(op: string, args?: unknown) => Promise<T>;

interface Ref {
  k: string;
  id: number;
}

/** A write refused for its input (no such client, a duplicate): the route answers with `statusCode`. */
export class WriteRefused extends Error {
  override name = 'WriteRefused';
  constructor(
    readonly statusCode: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: string) => new WriteRefused(404, `${what} not found`);

export function writes(db: DB) {
  const store = new PatriotStore(db);
  const imports = new ImportStore(db);
  /** the state row of a change: status 'changed', xml_version + 1 (only for a client that still exists) */
  const changed = (k: string, id: number) => {
    if (store.exists(k, id)) store.clientState.markChanged(k, id);
  };
  const mustExist = (k: string, id: number) => {
    if (!store.exists(k, id)) throw notFound('Client');
  };
  return {
    /** PUT /clients: `info` with the defaults applied; the answer is read in the same transaction */
    'patriot.putClient': ({ k, id, info }: Ref & { info: Info }) => {
      const created = store.putInfo(k, id, info);
      changed(k, id);
      return { created, view: clientView(store.getClient(k, id)!) };
    },
    /** PATCH /clients: the sent fields over the stored ones */
    'patriot.patchClient': ({ k, id, info }: Ref & { info: Partial<Info> }) => {
      const cur = store.getInfo(k, id);
      if (!cur) throw notFound('Client');
      store.putInfo(k, id, { ...cur, ...info });
      changed(k, id);
      return clientView(store.getClient(k, id)!);
    },
    'patriot.deleteClient': ({ k, id }: Ref) => {
      if (!store.deleteClient(k, id)) throw notFound('Client');
      return null;
    },
    'patriot.putZone': ({ k, id, zone }: Ref & { zone: Zone }) => {
      mustExist(k, id);
      store.putZone(k, id, zone);
      changed(k, id);
      return null;
    },
    'patriot.deleteZone': ({ k, id, zone }: Ref & { zone: number }) => {
      mustExist(k, id);
      if (!store.deleteZone(k, id, zone)) throw notFound('Zone');
      changed(k, id);
      return null;
    },
    'patriot.insertUser': ({ k, id, user }: Ref & { user: User }) => {
      mustExist(k, id);
      if (store.getUser(k, id, user.UserNo)) throw new WriteRefused(409, `User ${user.UserNo} already exists`);
      store.insertUser(k, id, user);
      changed(k, id);
      return store.getUser(k, id, user.UserNo);
    },
    'patriot.updateUser': ({ k, id, user }: Ref & { user: User }) => {
      mustExist(k, id);
      if (!store.updateUser(k, id, user)) throw notFound('User');
      changed(k, id);
      return store.getUser(k, id, user.UserNo);
    },
    'patriot.deleteUser': ({ k, id, userNo }: Ref & { userNo: number }) => {
      mustExist(k, id);
      if (!store.deleteUser(k, id, userNo)) throw notFound('User');
      changed(k, id);
      return null;
    },
    /** before a rewrite of the XML that no change of the API set (an upload not confirmed, an operator's regenerate) */
    'patriot.markChanged': ({ k, id }: Ref) => {
      changed(k, id);
      return null;
    },

    // ---- the import pipeline's runs and batches (import/service.ts) ----
    'patriot.import.startRun': (r: Parameters<ImportStore['startRun']>[0]) => {
      imports.abandonRuns(); // under the run lock, a run still marked running is one that died
      imports.startRun(r);
      return null;
    },
    'patriot.import.finishRun': (r: RunRow & { finished_at: string }) => {
      imports.finishRun(r);
      return null;
    },
    'patriot.import.abandonRuns': () => imports.abandonRuns(),
    'patriot.import.recordBatch': ({ runId, batch, items }: { runId: string; batch: string; items: BatchItem[] }) => {
      imports.recordBatch(runId, batch, items);
      return null;
    },
    'patriot.import.applyCheck': ({
      completed,
      failed,
    }: Record<'completed' | 'failed', Parameters<ImportStore['applyCheck']>[0]>) =>
      imports.applyCheck(completed, failed),
  };
}

/**
 * The same ops on the caller's own connection, one IMMEDIATE transaction each: for the CLI (its own
 * process, no event loop of a server to hold up) and for code run without the app (bench, tests).
 */
export function localWrites(db: DB): RunWrite {
  const ops = writes(db) as Record<string, (a: unknown) => unknown>;
  // async: a throwing op rejects
  return async <T>(op: string, args?: unknown) => {
    const fn = ops[op];
    if (!fn) throw new Error(`patriot: no write named ${op}`);
    return db.transaction(() => fn(args)).immediate() as T;
  };
}

/** The app's writer (`app.writer`) as a RunWrite. */
export function writerWrites(writer: { run<T>(op: string, args?: unknown): Promise<{ value: T }> }): RunWrite {
  return <T>(op: string, args?: unknown) => writer.run<T>(op, args).then((r) => r.value);
}
