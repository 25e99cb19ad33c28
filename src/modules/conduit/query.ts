/**
 * Reads: the datapoints a user may see (devices of the sites granted to it), ordered by val_date,
 * dev_netid, dev_chid, and the metadata of a (device, channel). Statements are prepared once.
 *
 * Plans (forced, so that a big table never gets a bad one):
 * - by series, with ids, or without ids when the user sees at most SERIES_PLAN_MAX (device, channel)
 *   series: walk each series' range of the primary key and sort. To bound the sort, a first
 *   statement finds, per series, the val_date of its (limit)th datapoint in the range; the smallest
 *   of these is a safe new end of the range (that series alone fills the answer by then), so at most
 *   `limit` rows per series are read and sorted, however long the range;
 * - by time, without ids for users who see many series: walk the val_date index; rows come out in
 *   time order and the walk stops at the limit (it may pass other sites' rows on the way).
 */
import type { DB } from '../../core/db.js';

/** [device_id, chid, val_date, val_raw] */
export type PointRow = [number, number, number, number];

export interface ChannelMeta {
  netid: string;
  chid: number;
  site: string;
  tag: string | null;
  type: string | null;
  label: string | null;
  category: string | null;
  powersource: string | null;
  manufacturer: string | null;
  supplier: string | null;
  model: string | null;
  serial: string | null;
  network: string | null;
  lat: number | null;
  lng: number | null;
  error: number;
  val_type: string | null;
  val_description: string | null;
  val_cal: number;
  val_offset: number;
}

export interface QueryArgs {
  ids?: string[];
  chs?: number[];
  from: number;
  to: number;
  /** most rows answered */
  limit: number;
}

const VISIBLE = 'v.site_id IN (SELECT site_id FROM conduit_user_sites WHERE user_id = @user)';
const ORDER = 'ORDER BY d.val_date, v.netid, d.chid LIMIT @limit';
const CH = (alias: string) => `AND ${alias}.chid IN (SELECT value FROM json_each(@chs))`;
const IDS = 'AND v.netid IN (SELECT value FROM json_each(@ids))';
/** without ids, users who see at most this many series are answered by series */
export const SERIES_PLAN_MAX = 256;

/** a device with its site and last datapoint (the operator API's list) */
export interface DeviceSummary {
  id: number;
  netid: string;
  site: string;
  tag: string | null;
  label: string | null;
  /** val_date of its last datapoint, unix seconds */
  last: number | null;
}

const LAST_PER_DEVICE = `SELECT v.id, v.netid, s.name AS site, v.tag, v.label,
    (SELECT MAX(d.val_date) FROM conduit_channels c JOIN conduit_datapoints d ON d.device_id = c.device_id AND d.chid = c.chid
      WHERE c.device_id = v.id) AS last
  FROM conduit_devices v JOIN conduit_sites s ON s.id = v.site_id`;
const MATCH = `(@q IS NULL OR instr(v.netid, @q) > 0 OR instr(COALESCE(v.tag, ''), @q) > 0)`;

export class ConduitQuery {
  private readonly series;
  private readonly byDate;
  private readonly seriesCount;
  private readonly metaStmt;
  private readonly ops;

  constructor(db: DB) {
    this.ops = {
      users: db.prepare<[], { n: number; enabled: number }>(
        'SELECT COUNT(*) AS n, COALESCE(SUM(enabled), 0) AS enabled FROM conduit_users',
      ),
      devices: db.prepare<[], DeviceSummary>(`${LAST_PER_DEVICE} ORDER BY v.netid`),
      page: db.prepare<{ q: string | null; limit: number; offset: number }, DeviceSummary>(
        `${LAST_PER_DEVICE} WHERE ${MATCH} ORDER BY v.netid LIMIT @limit OFFSET @offset`,
      ),
      count: db.prepare<{ q: string | null }, number>(`SELECT COUNT(*) FROM conduit_devices v WHERE ${MATCH}`).pluck(),
      recent: db.prepare<[number], number>('SELECT COUNT(*) FROM conduit_datapoints WHERE val_date >= ?').pluck(),
      channels: db.prepare<[string], { chid: number; type: string | null; description: string | null }>(
        'SELECT c.chid, c.type, c.description FROM conduit_channels c JOIN conduit_devices v ON v.id = c.device_id WHERE v.netid = ? ORDER BY c.chid',
      ),
      series: db
        .prepare<{ netid: string; chid: number; from: number; to: number; limit: number }, [number, number]>(
          `SELECT d.val_date, d.val_raw FROM conduit_devices v JOIN conduit_datapoints d ON d.device_id = v.id
           WHERE v.netid = @netid AND d.chid = @chid AND d.val_date BETWEEN @from AND @to ORDER BY d.val_date LIMIT @limit`,
        )
        .raw(true),
    };
    const cols = 'd.device_id, d.chid, d.val_date, d.val_raw';
    const byDate = (ch: boolean) =>
      db
        .prepare(
          `SELECT ${cols} FROM conduit_datapoints d INDEXED BY conduit_datapoints_date JOIN conduit_devices v ON v.id = d.device_id
           WHERE d.val_date BETWEEN @from AND @to AND ${VISIBLE} ${ch ? CH('d') : ''} ${ORDER}`,
        )
        .raw(true);
    const bySeries = (ids: boolean, ch: boolean) =>
      db
        .prepare(
          `SELECT ${cols} FROM conduit_devices v CROSS JOIN conduit_channels c ON c.device_id = v.id
             CROSS JOIN conduit_datapoints d ON d.device_id = c.device_id AND d.chid = c.chid
           WHERE ${VISIBLE} ${ids ? IDS : ''} ${ch ? CH('c') : ''} AND d.val_date BETWEEN @from AND @to ${ORDER}`,
        )
        .raw(true);
    const bound = (ids: boolean, ch: boolean) =>
      db.prepare<Record<string, unknown>, { bound: number | null }>(
        `SELECT MIN((SELECT d.val_date FROM conduit_datapoints d
                     WHERE d.device_id = c.device_id AND d.chid = c.chid AND d.val_date BETWEEN @from AND @to
                     ORDER BY d.val_date LIMIT 1 OFFSET @offset)) AS bound
         FROM conduit_devices v CROSS JOIN conduit_channels c ON c.device_id = v.id
         WHERE ${VISIBLE} ${ids ? IDS : ''} ${ch ? CH('c') : ''}`,
      );
    const plans = (ids: boolean) => ({
      all: { points: bySeries(ids, false), bound: bound(ids, false) },
      ch: { points: bySeries(ids, true), bound: bound(ids, true) },
    });
    this.series = { ids: plans(true), visible: plans(false) };
    this.byDate = { all: byDate(false), ch: byDate(true) };
    this.seriesCount = {
      all: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM conduit_devices v JOIN conduit_channels c ON c.device_id = v.id WHERE ${VISIBLE}`,
      ),
      ch: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM conduit_devices v JOIN conduit_channels c ON c.device_id = v.id WHERE ${VISIBLE} ${CH('c')}`,
      ),
    };
    this.metaStmt = db.prepare<[number, number], ChannelMeta>(
      `SELECT v.netid, c.chid, s.name AS site, v.tag, v.type, v.label, v.category, v.powersource, v.manufacturer, v.supplier,
         v.model, v.serial, v.network, v.lat, v.lng, v.error,
         c.type AS val_type, c.description AS val_description, c.cal AS val_cal, c.offset AS val_offset
       FROM conduit_channels c JOIN conduit_devices v ON v.id = c.device_id JOIN conduit_sites s ON s.id = v.site_id
       WHERE c.device_id = ? AND c.chid = ?`,
    );
  }

  /** Datapoints visible to `user`, ordered by time, device, channel; at most `limit` rows. */
  points(user: number, a: QueryArgs): PointRow[] {
    const p: Record<string, unknown> = { user, from: a.from, to: a.to, limit: a.limit };
    const variant = a.chs ? 'ch' : 'all';
    if (a.chs) p.chs = JSON.stringify(a.chs);
    if (a.ids) p.ids = JSON.stringify(a.ids);
    else if (this.seriesCount[variant].get(p)!.n > SERIES_PLAN_MAX) return this.byDate[variant].all(p) as PointRow[];
    const plan = this.series[a.ids ? 'ids' : 'visible'][variant];
    const end = plan.bound.get({ ...p, offset: a.limit - 1 })?.bound;
    if (end !== null && end !== undefined) p.to = end;
    return plan.points.all(p) as PointRow[];
  }

  meta(deviceId: number, chid: number): ChannelMeta | undefined {
    return this.metaStmt.get(deviceId, chid);
  }

  /** users (all, enabled) for the health tile */
  userCounts(): { n: number; enabled: number } {
    return this.ops.users.get()!;
  }

  /** every device with its last datapoint, by netid */
  devices(): DeviceSummary[] {
    return this.ops.devices.all();
  }

  /** a page of devices whose netid or tag contains `q` */
  devicePage(q: string | null, limit: number, offset: number): { total: number; devices: DeviceSummary[] } {
    return { total: this.ops.count.get({ q })!, devices: this.ops.page.all({ q, limit, offset }) };
  }

  /** datapoints with val_date >= since */
  countSince(since: number): number {
    return this.ops.recent.get(since)!;
  }

  channelsOf(netid: string): Array<{ chid: number; type: string | null; description: string | null }> {
    return this.ops.channels.all(netid);
  }

  /** one (device, channel)'s [val_date, val_raw] in from..to, oldest first */
  channelSeries(a: { netid: string; chid: number; from: number; to: number; limit: number }): Array<[number, number]> {
    return this.ops.series.all(a);
  }
}
