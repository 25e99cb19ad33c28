/**
 * The conduit store: the read interface the service and the operator API use on either driver
 * (`ConduitReads`: SQLite `sqliteReads` over query.ts and users.ts, prepared and synchronous;
 * PostgreSQL in store-pg.ts), and the SQLite writes of devices, channels and datapoints
 * (ConduitStore, run by the writer thread; PostgreSQL: ingest-pg.ts). Every statement is prepared
 * once; a request is one transaction. A user writes only the devices of the sites granted to it.
 */
import type { DB } from '../../core/db.js';
import { Refused, invalid } from './errors.js';
import { ConduitQuery, type ChannelMeta, type DeviceSummary, type PointRow, type QueryArgs } from './query.js';
import {
  CHANNEL_FIELDS,
  DEVICE_FIELDS,
  hasMetadata,
  pick,
  type ChannelField,
  type Datapoint,
  type DeviceField,
  type MetadataUpdate,
} from './schemas.js';
import type { Series } from './uplink.js';
import { Users, type AuthUser, type ConduitUser } from './users.js';

/** a value on SQLite (no promise on the hot path), a promise on PostgreSQL; callers `await` */
export type Maybe<T> = T | Promise<T>;

/** The reads of the conduit module (the same answers on both drivers). */
export interface ConduitReads {
  /** the user holding this token, or undefined (one indexed read per request) */
  byToken(token: string): Maybe<AuthUser | undefined>;
  users(): Maybe<ConduitUser[]>;
  sites(): Maybe<Array<{ name: string; devices: number; users: number }>>;
  /** datapoints visible to `user`, ordered by time, device, channel; at most `limit` rows */
  points(user: number, a: QueryArgs): Maybe<PointRow[]>;
  /** the metadata of the (device, channel)s of `rows`, as a lookup (SQLite: read as asked) */
  metaOf(rows: readonly PointRow[]): Maybe<(device: number, chid: number) => ChannelMeta | undefined>;
  userCounts(): Maybe<{ n: number; enabled: number }>;
  devices(): Maybe<DeviceSummary[]>;
  devicePage(q: string | null, limit: number, offset: number): Maybe<{ total: number; devices: DeviceSummary[] }>;
  countSince(since: number): Maybe<number>;
  channelsOf(netid: string): Maybe<Array<{ chid: number; type: string | null; description: string | null }>>;
  channelSeries(a: {
    netid: string;
    chid: number;
    from: number;
    to: number;
    limit: number;
  }): Maybe<Array<[number, number]>>;
}

/** The reads on SQLite: the prepared statements of query.ts and users.ts, on the main connection. */
export function sqliteReads(db: DB): ConduitReads {
  const query = new ConduitQuery(db);
  const users = new Users(db);
  const meta = (device: number, chid: number) => query.meta(device, chid);
  return {
    byToken: (token) => users.byToken(token),
    users: () => users.list(),
    sites: () => users.sites(),
    points: (user, a) => query.points(user, a),
    metaOf: () => meta,
    userCounts: () => query.userCounts(),
    devices: () => query.devices(),
    devicePage: (q, limit, offset) => query.devicePage(q, limit, offset),
    countSince: (since) => query.countSince(since),
    channelsOf: (netid) => query.channelsOf(netid),
    channelSeries: (a) => query.channelSeries(a),
  };
}

interface DeviceRow {
  id: number;
  site_id: number;
}

/** `SET col = CASE WHEN @has_col THEN @col ELSE col END, ...` so one statement updates any subset */
function partialSet(cols: readonly string[]): string {
  return cols.map((c) => `${c} = CASE WHEN @has_${c} THEN @${c} ELSE ${c} END`).join(', ');
}

function partialParams<F extends string>(
  fields: Record<F, string>,
  values: Partial<Record<F, unknown>>,
): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  for (const [f, col] of Object.entries(fields) as Array<[F, string]>) {
    const has = values[f] !== undefined;
    p[`has_${col}`] = has ? 1 : 0;
    p[col] = has ? values[f] : null;
  }
  return p;
}

export interface IngestOptions {
  /**
   * An AlphaX uplink (no dev_site): an unknown device is created in the user's default site (its
   * only site; with several, the one made first, lowest id) when autoCreate, else 404.
   */
  uplink?: { autoCreate: boolean };
}

export class ConduitStore {
  private readonly deviceByNetid;
  private readonly userSites;
  private readonly siteByName;
  private readonly insertDevice;
  private readonly updateDevice;
  private readonly moveDevice;
  private readonly ensureChannel;
  private readonly channelsOf;
  private readonly updateChannel;
  private readonly upsertPoint;
  private readonly deleteAll;
  private readonly deleteChs;
  private readonly pruneBatch;

  constructor(private readonly db: DB) {
    this.deviceByNetid = db.prepare<[string], DeviceRow>('SELECT id, site_id FROM conduit_devices WHERE netid = ?');
    this.userSites = db.prepare<[number], { site_id: number }>(
      'SELECT site_id FROM conduit_user_sites WHERE user_id = ?',
    );
    this.siteByName = db.prepare<[string], { id: number }>('SELECT id FROM conduit_sites WHERE name = ?');
    const devCols = Object.values(DEVICE_FIELDS);
    this.insertDevice = db.prepare<[string, number]>('INSERT INTO conduit_devices (netid, site_id) VALUES (?, ?)');
    this.updateDevice = db.prepare<Record<string, unknown>>(
      `UPDATE conduit_devices SET ${partialSet(devCols)} WHERE id = @id`,
    );
    this.moveDevice = db.prepare<[number, number]>('UPDATE conduit_devices SET site_id = ? WHERE id = ?');
    this.ensureChannel = db.prepare<[number, number]>(
      'INSERT OR IGNORE INTO conduit_channels (device_id, chid) VALUES (?, ?)',
    );
    this.channelsOf = db.prepare<[number], number>('SELECT chid FROM conduit_channels WHERE device_id = ?').pluck();
    this.updateChannel = db.prepare<Record<string, unknown>>(
      `UPDATE conduit_channels SET ${partialSet(Object.values(CHANNEL_FIELDS))} WHERE device_id = @device_id AND chid = @chid`,
    );
    this.upsertPoint = db.prepare<[number, number, number, number]>(
      `INSERT INTO conduit_datapoints (device_id, chid, val_date, val_raw) VALUES (?, ?, ?, ?)
       ON CONFLICT (device_id, chid, val_date) DO UPDATE SET val_raw = excluded.val_raw`,
    );
    this.deleteAll = db.prepare<[number, number, number]>(
      'DELETE FROM conduit_datapoints WHERE device_id = ? AND val_date BETWEEN ? AND ?',
    );
    this.deleteChs = db.prepare<[number, string, number, number]>(
      'DELETE FROM conduit_datapoints WHERE device_id = ? AND chid IN (SELECT value FROM json_each(?)) AND val_date BETWEEN ? AND ?',
    );
    this.pruneBatch = db.prepare<[number, number]>(
      `DELETE FROM conduit_datapoints WHERE (device_id, chid, val_date) IN
         (SELECT device_id, chid, val_date FROM conduit_datapoints INDEXED BY conduit_datapoints_date WHERE val_date < ? LIMIT ?)`,
    );
  }

  private sitesOf(user: number): Set<number> {
    return new Set(this.userSites.all(user).map((r) => r.site_id));
  }

  /** a granted site by name: 403 when it is not the user's (or does not exist) */
  private grantedSite(name: string, sites: Set<number>): number {
    const s = this.siteByName.get(name);
    if (!s || !sites.has(s.id)) throw new Refused('forbidden', `site "${name.slice(0, 100)}" is not one of your sites`);
    return s.id;
  }

  private visibleDevice(netid: string, sites: Set<number>): DeviceRow {
    const dev = this.deviceByNetid.get(netid);
    if (!dev) throw new Refused('not-found', `device ${netid} not found`);
    if (!sites.has(dev.site_id)) throw new Refused('forbidden', `device ${netid} is not in one of your sites`);
    return dev;
  }

  /**
   * Stores a batch in one transaction: creates unknown devices (in `dev_site`, or the user's only
   * site) and channels, applies metadata (the last value given in the batch wins) and upserts
   * the datapoints (a datapoint given twice: the last value wins). Any refused datapoint refuses
   * the whole batch.
   */
  ingest(user: number, points: readonly Datapoint[], opts: IngestOptions = {}): number {
    const run = this.db.transaction(() => {
      const sites = this.sitesOf(user);
      /** devices by the netid as sent, and by the upper-case netid */
      const asSent = new Map<string, DeviceRow>();
      const devices = new Map<string, DeviceRow>();
      /** the channels of each device of the batch (read once per device, one statement, then kept up to date) */
      const channels = new Map<number, Set<number>>();
      const devMeta = new Map<number, Partial<Record<DeviceField, unknown>>>();
      const chMeta = new Map<string, { device_id: number; chid: number; m: Partial<Record<ChannelField, unknown>> }>();
      const moves = new Map<number, number>();
      const siteIds = new Map<string, number>();
      const granted = (name: string) => {
        let id = siteIds.get(name);
        if (id === undefined) siteIds.set(name, (id = this.grantedSite(name, sites)));
        return id;
      };
      const device = (i: number, p: Datapoint): DeviceRow => {
        const netid = p.dev_netid.toUpperCase();
        let dev = devices.get(netid) ?? this.deviceByNetid.get(netid);
        if (!dev) {
          let site: number;
          if (opts.uplink && !opts.uplink.autoCreate)
            throw new Refused('not-found', `device ${netid} not found (conduit.autoCreateDevices is off)`);
          if (opts.uplink && sites.size > 0)
            site = Math.min(...sites); // the user's default site
          else if (p.dev_site !== undefined) site = granted(p.dev_site);
          else if (sites.size === 1) site = [...sites][0]!;
          else
            throw sites.size === 0
              ? new Refused('forbidden', 'you have no site to write to')
              : invalid(`[${i}].dev_site: required for the new device ${netid} (you have several sites)`);
          dev = { id: Number(this.insertDevice.run(netid, site).lastInsertRowid), site_id: site };
          channels.set(dev.id, new Set());
        } else if (!sites.has(dev.site_id)) {
          throw new Refused('forbidden', `device ${netid} is not in one of your sites`);
        }
        devices.set(netid, dev);
        asSent.set(p.dev_netid, dev);
        return dev;
      };
      for (let i = 0; i < points.length; i++) {
        const p = points[i]!;
        const dev = asSent.get(p.dev_netid) ?? device(i, p);
        if (p.dev_site !== undefined) {
          const site = granted(p.dev_site);
          if (site !== dev.site_id) moves.set(dev.id, site);
        }
        let chs = channels.get(dev.id);
        if (!chs) channels.set(dev.id, (chs = new Set(this.channelsOf.all(dev.id))));
        if (!chs.has(p.dev_chid)) {
          this.ensureChannel.run(dev.id, p.dev_chid);
          chs.add(p.dev_chid);
        }
        if (hasMetadata(p)) {
          const dm = pick(DEVICE_FIELDS, p);
          if (dm) devMeta.set(dev.id, { ...devMeta.get(dev.id), ...dm });
          const cm = pick(CHANNEL_FIELDS, p);
          const key = `${dev.id}:${p.dev_chid}`;
          if (cm) chMeta.set(key, { device_id: dev.id, chid: p.dev_chid, m: { ...chMeta.get(key)?.m, ...cm } });
        }
        this.upsertPoint.run(dev.id, p.dev_chid, p.val_date, p.val_raw);
      }
      for (const [id, m] of devMeta) this.updateDevice.run({ id, ...partialParams(DEVICE_FIELDS, m) });
      for (const [id, site] of moves) this.moveDevice.run(site, id);
      for (const c of chMeta.values())
        this.updateChannel.run({ device_id: c.device_id, chid: c.chid, ...partialParams(CHANNEL_FIELDS, c.m) });
      return points.length;
    });
    return this.db.inTransaction ? run() : run.immediate();
  }

  /** An uplink (V1, V2, V4): its device is found, or created in the user's default site when autoCreate. */
  ingestSeries(user: number, s: Series, autoCreate: boolean): number {
    const points = new Array<Datapoint>(s.chids.length);
    for (let i = 0; i < points.length; i++)
      points[i] = { dev_netid: s.netid, dev_chid: s.chids[i]!, val_date: s.date, val_raw: s.values[i]! };
    return this.ingest(user, points, { uplink: { autoCreate } });
  }

  /** PUT: device fields on each device of `ids`; channel fields on each channel of `chs` (created if missing). */
  updateMetadata(user: number, ids: string[], chs: number[] | undefined, m: MetadataUpdate): number {
    const dm = pick(DEVICE_FIELDS, m);
    const cm = pick(CHANNEL_FIELDS, m);
    if (cm && !chs) throw invalid(`${Object.keys(cm).join(', ')}: channel fields need the ch argument`);
    const run = this.db.transaction(() => {
      const sites = this.sitesOf(user);
      let n = 0;
      for (const netid of ids) {
        const dev = this.visibleDevice(netid, sites);
        if (m.dev_site !== undefined) this.moveDevice.run(this.grantedSite(m.dev_site, sites), dev.id);
        if (dm) this.updateDevice.run({ id: dev.id, ...partialParams(DEVICE_FIELDS, dm) });
        if (dm || m.dev_site !== undefined) n++;
        for (const chid of cm ? chs! : []) {
          this.ensureChannel.run(dev.id, chid);
          this.updateChannel.run({ device_id: dev.id, chid, ...partialParams(CHANNEL_FIELDS, cm!) });
          n++;
        }
      }
      return n;
    });
    return run.immediate();
  }

  /** DELETE: datapoints of `ids` (and `chs`) with val_date in from..to. */
  deletePoints(user: number, ids: string[], chs: number[] | undefined, from: number, to: number): number {
    const run = this.db.transaction(() => {
      const sites = this.sitesOf(user);
      const devs = ids.map((netid) => this.visibleDevice(netid, sites));
      let n = 0;
      for (const dev of devs) {
        n += (chs ? this.deleteChs.run(dev.id, JSON.stringify(chs), from, to) : this.deleteAll.run(dev.id, from, to))
          .changes;
      }
      return n;
    });
    return run.immediate();
  }

  /** Deletes up to `batch` datapoints older than `before` (unix seconds); returns how many. */
  prune(before: number, batch: number): number {
    return this.pruneBatch.run(before, batch).changes;
  }
}
