/**
 * The conduit writes, run by the core writer thread (src/core/writer.ts) on its own connection:
 * every ingest form, PUT metadata, DELETE, retention and the operator API's user changes. Each op
 * runs in its own savepoint of a group commit; a refusal (Refused) rolls back that op alone and
 * reaches the caller as a Refused again (errors.ts `refusedAgain`). The bulk ingest arrives as the
 * body's text and is parsed and validated here, off the event loop.
 */
import type { DB } from '../../core/db.js';
import { notJson } from './body.js';
import { invalid } from './errors.js';
import { ingestSchema, zodMessage, type Datapoint, type MetadataUpdate } from './schemas.js';
import { ConduitStore } from './store.js';
import type { Series } from './uplink.js';
import { Users } from './users.js';
import { checkDatapoints } from './validate.js';

/** A bulk body as datapoints: the hand pass, else the schema (its message, or its output). */
export function bulkPoints(text: string): Datapoint[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw invalid(notJson(e));
  }
  const fast = checkDatapoints(body);
  if (fast) return fast;
  const parsed = ingestSchema.safeParse(body);
  if (!parsed.success) throw invalid(zodMessage(parsed.error, 'body'));
  return parsed.data;
}

export function writes(db: DB) {
  const store = new ConduitStore(db);
  const users = new Users(db);
  return {
    /** the bulk format: the JSON text of an array of datapoints */
    'conduit.ingest': (a: { user: number; json: string }) => store.ingest(a.user, bulkPoints(a.json)),
    /** an uplink (V1, V2) or a V4 webhook query, already validated */
    'conduit.uplink': (a: { user: number; series: Series; autoCreate: boolean }) =>
      store.ingestSeries(a.user, a.series, a.autoCreate),
    'conduit.metadata': (a: { user: number; ids: string[]; chs: number[] | undefined; m: MetadataUpdate }) =>
      store.updateMetadata(a.user, a.ids, a.chs, a.m),
    'conduit.delete': (a: { user: number; ids: string[]; chs: number[] | undefined; from: number; to: number }) =>
      store.deletePoints(a.user, a.ids, a.chs, a.from, a.to),
    'conduit.prune': (a: { before: number; batch: number }) => store.prune(a.before, a.batch),
    'conduit.user.add': (a: Parameters<Users['add']>[0]) => users.add(a),
    'conduit.user.update': (a: { name: string; patch: Parameters<Users['update']>[1] }) =>
      users.update(a.name, a.patch),
    'conduit.user.token': (a: { name: string }) => users.rotateToken(a.name),
    'conduit.user.grant': (a: { name: string; site: string }) => users.grantSite(a.name, a.site),
    'conduit.user.revoke': (a: { name: string; site: string }) => users.revokeSite(a.name, a.site),
  };
}

export type ConduitWrites = ReturnType<typeof writes>;
