/**
 * The conduit writes on PostgreSQL (core PgWriter, docs/postgres.md): the same op names, arguments
 * and results as writes.ts, each op in its own transaction, answered after its COMMIT. The bulk body
 * is parsed and validated here, on the main thread (writes.ts `bulkPoints`, the same validator and
 * answers), before the op touches the database. A Refused rolls the op back and reaches the service.
 */
import type { PgWrites } from '../../core/pg.js';
import { ConduitStorePg } from './ingest-pg.js';
import { Partitions } from './partitions.js';
import type { MetadataUpdate } from './schemas.js';
import type { Series } from './uplink.js';
import { userWrites } from './users-pg.js';
import { bulkPoints, type ConduitWrites } from './writes.js';

type Args<K extends keyof ConduitWrites> = Parameters<ConduitWrites[K]>[0];

export function writesPg(): PgWrites {
  const partitions = new Partitions();
  const store = new ConduitStorePg(partitions);
  return {
    'conduit.ingest': (c, a) => {
      const { user, json } = a as Args<'conduit.ingest'>;
      const points = bulkPoints(json);
      return store.ingest(c, user, points);
    },
    'conduit.uplink': (c, a) => {
      const { user, series, autoCreate } = a as { user: number; series: Series; autoCreate: boolean };
      return store.ingestSeries(c, user, series, autoCreate);
    },
    'conduit.metadata': (c, a) => {
      const { user, ids, chs, m } = a as { user: number; ids: string[]; chs: number[] | undefined; m: MetadataUpdate };
      return store.updateMetadata(c, user, ids, chs, m);
    },
    'conduit.delete': (c, a) => {
      const { user, ids, chs, from, to } = a as Args<'conduit.delete'>;
      return store.deletePoints(c, user, ids, chs, from, to);
    },
    'conduit.prune': (c, a) => {
      const { before, batch } = a as Args<'conduit.prune'>;
      return partitions.prune(c, before, batch);
    },
    'conduit.user.add': (c, a) => userWrites.add(c, a as Args<'conduit.user.add'>),
    'conduit.user.update': (c, a) => {
      const { name, patch } = a as Args<'conduit.user.update'>;
      return userWrites.update(c, name, patch);
    },
    'conduit.user.token': (c, a) => userWrites.rotateToken(c, (a as Args<'conduit.user.token'>).name),
    'conduit.user.grant': (c, a) => {
      const { name, site } = a as Args<'conduit.user.grant'>;
      return userWrites.grantSite(c, name, site);
    },
    'conduit.user.revoke': (c, a) => {
      const { name, site } = a as Args<'conduit.user.revoke'>;
      return userWrites.revokeSite(c, name, site);
    },
  };
}
