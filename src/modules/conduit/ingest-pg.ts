/**
 * Writes of devices, channels and datapoints on PostgreSQL: the same rules, refusals and results as
 * store.ts ConduitStore (SQLite), in few statements per batch. The batch is checked in order first
 * (in memory, after one read of its devices, sites and the user's grants), so a refusal is the one
 * SQLite gives; then new devices, channels and datapoints are each one multi-row statement
 * (INSERT ... SELECT FROM unnest ... ON CONFLICT). ON CONFLICT cannot touch a row twice in one
 * statement, so the batch's datapoints are deduplicated first, the last value winning as on SQLite,
 * and sorted by key so that concurrent batches lock rows in the same order.
 */
import type pg from 'pg';
import { Refused, invalid } from './errors.js';
import type { Partitions } from './partitions.js';
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
import type { IngestOptions } from './store.js';
import type { Series } from './uplink.js';

interface DeviceRow {
  id: number;
  site_id: number;
}

/** rows per datapoint INSERT (arrays of unnest) */
const INSERT_ROWS = 20_000;

/** `UPDATE table SET "col" = $n, ... WHERE <where>` for the given fields; params after `first` */
async function updateFields<F extends string>(
  c: pg.ClientBase,
  table: string,
  fields: Record<F, string>,
  values: Partial<Record<F, unknown>>,
  where: string,
  first: unknown[],
): Promise<void> {
  const sets: string[] = [];
  const params = [...first];
  for (const [f, col] of Object.entries(fields) as Array<[F, string]>) {
    if (values[f] === undefined) continue;
    params.push(values[f]);
    sets.push(`"${col}" = $${params.length}`);
  }
  if (sets.length) await c.query(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${where}`, params);
}

async function sitesOf(c: pg.ClientBase, user: number): Promise<Set<number>> {
  const r = await c.query<{ site_id: number }>('SELECT site_id FROM conduit_user_sites WHERE user_id = $1', [user]);
  return new Set(r.rows.map((x) => x.site_id));
}

async function siteIds(c: pg.ClientBase, names: string[]): Promise<Map<string, number>> {
  if (!names.length) return new Map();
  const r = await c.query<{ id: number; name: string }>(
    'SELECT id, name FROM conduit_sites WHERE name = ANY($1::text[])',
    [names],
  );
  return new Map(r.rows.map((x) => [x.name, x.id]));
}

async function devicesByNetid(c: pg.ClientBase, netids: string[]): Promise<Map<string, DeviceRow>> {
  if (!netids.length) return new Map();
  const r = await c.query<DeviceRow & { netid: string }>(
    'SELECT id, site_id, netid FROM conduit_devices WHERE netid = ANY($1::text[])',
    [netids],
  );
  return new Map(r.rows.map((x) => [x.netid, { id: x.id, site_id: x.site_id }]));
}

/** the datapoints, each (device, channel, time) once: multi-row upserts of INSERT_ROWS */
async function insertPoints(c: pg.ClientBase, all: ReadonlyArray<[number, number, number, number]>): Promise<void> {
  for (let i = 0; i < all.length; i += INSERT_ROWS) {
    const part = all.slice(i, i + INSERT_ROWS);
    await c.query(
      `INSERT INTO conduit_datapoints (device_id, chid, val_date, val_raw)
       SELECT * FROM unnest($1::int[], $2::int[], $3::int8[], $4::float8[])
       ON CONFLICT (device_id, chid, val_date) DO UPDATE SET val_raw = excluded.val_raw`,
      [part.map((x) => x[0]), part.map((x) => x[1]), part.map((x) => x[2]), part.map((x) => x[3])],
    );
  }
}

export class ConduitStorePg {
  constructor(private readonly partitions: Partitions) {}

  /** as ConduitStore.ingest: one transaction (the write's), any refused datapoint refuses the batch */
  async ingest(
    c: pg.ClientBase,
    user: number,
    points: readonly Datapoint[],
    opts: IngestOptions = {},
  ): Promise<number> {
    const sites = await sitesOf(c, user);
    const netids = new Set<string>();
    const siteNames = new Set<string>();
    for (const p of points) {
      netids.add(p.dev_netid.toUpperCase());
      if (p.dev_site !== undefined) siteNames.add(p.dev_site);
    }
    const known = await devicesByNetid(c, [...netids]);
    const siteByName = await siteIds(c, [...siteNames]);
    const granted = (name: string) => {
      const id = siteByName.get(name);
      if (id === undefined || !sites.has(id))
        throw new Refused('forbidden', `site "${name.slice(0, 100)}" is not one of your sites`);
      return id;
    };

    // the checks, in the batch's order (the refusal is the one SQLite gives); devices by upper-case netid
    const created = new Map<string, number>(); // netid -> site of a device to create
    const siteOf = new Map<string, number>(); // netid -> its site before the batch's moves
    const moves = new Map<string, number>();
    const devMeta = new Map<string, Partial<Record<DeviceField, unknown>>>();
    const chMeta = new Map<string, { netid: string; chid: number; m: Partial<Record<ChannelField, unknown>> }>();
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const netid = p.dev_netid.toUpperCase();
      let site = siteOf.get(netid);
      if (site === undefined) {
        const dev = known.get(netid);
        if (!dev) {
          if (opts.uplink && !opts.uplink.autoCreate)
            throw new Refused('not-found', `device ${netid} not found (conduit.autoCreateDevices is off)`);
          if (opts.uplink && sites.size > 0) site = Math.min(...sites);
          else if (p.dev_site !== undefined) site = granted(p.dev_site);
          else if (sites.size === 1) site = [...sites][0]!;
          else
            throw sites.size === 0
              ? new Refused('forbidden', 'you have no site to write to')
              : invalid(`[${i}].dev_site: required for the new device ${netid} (you have several sites)`);
          created.set(netid, site);
        } else if (!sites.has(dev.site_id)) {
          throw new Refused('forbidden', `device ${netid} is not in one of your sites`);
        } else {
          site = dev.site_id;
        }
        siteOf.set(netid, site);
      }
      if (p.dev_site !== undefined) {
        const to = granted(p.dev_site);
        if (to !== site) moves.set(netid, to);
      }
      if (hasMetadata(p)) {
        const dm = pick(DEVICE_FIELDS, p);
        if (dm) devMeta.set(netid, { ...devMeta.get(netid), ...dm });
        const cm = pick(CHANNEL_FIELDS, p);
        const key = `${netid}:${p.dev_chid}`;
        if (cm) chMeta.set(key, { netid, chid: p.dev_chid, m: { ...chMeta.get(key)?.m, ...cm } });
      }
    }
    if (!points.length) return 0;

    // the months first (DDL, serialised across replicas), then the rows
    const dates = points.map((p) => p.val_date);
    await this.partitions.ensure(c, dates);
    const ids = new Map<string, number>();
    for (const [netid, dev] of known) ids.set(netid, dev.id);
    if (created.size) {
      const news = [...created.keys()].sort();
      const r = await c.query<{ id: number; netid: string }>(
        `INSERT INTO conduit_devices (netid, site_id) SELECT * FROM unnest($1::text[], $2::int[])
         ON CONFLICT (netid) DO NOTHING RETURNING id, netid`,
        [news, news.map((n) => created.get(n)!)],
      );
      for (const x of r.rows) ids.set(x.netid, x.id);
      // made meanwhile by another request (another replica): the grants decide, as for a known device
      const raced = news.filter((n) => !ids.has(n));
      for (const [netid, dev] of await devicesByNetid(c, raced)) {
        if (!sites.has(dev.site_id)) throw new Refused('forbidden', `device ${netid} is not in one of your sites`);
        ids.set(netid, dev.id);
      }
    }

    // datapoints: the last of a (device, channel, time) wins; channels: each (device, channel) once
    const rows = new Map<string, [number, number, number, number]>();
    const chans = new Map<string, [number, number]>();
    for (const p of points) {
      const dev = ids.get(p.dev_netid.toUpperCase())!;
      rows.set(`${dev}:${p.dev_chid}:${p.val_date}`, [dev, p.dev_chid, p.val_date, p.val_raw]);
      chans.set(`${dev}:${p.dev_chid}`, [dev, p.dev_chid]);
    }
    const ch = [...chans.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    await c.query(
      `INSERT INTO conduit_channels (device_id, chid) SELECT * FROM unnest($1::int[], $2::int[]) ON CONFLICT DO NOTHING`,
      [ch.map((x) => x[0]), ch.map((x) => x[1])],
    );
    const all = [...rows.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    await c.query('SAVEPOINT conduit_points');
    try {
      await insertPoints(c, all);
    } catch (e) {
      // a row sent to DEFAULT while its month was being attached (partitions.ts): again, under the lock
      if ((e as { code?: string }).code !== '23514') throw e;
      await c.query('ROLLBACK TO SAVEPOINT conduit_points');
      await this.partitions.ensure(c, dates, true);
      await insertPoints(c, all);
    }
    for (const [netid, m] of devMeta)
      await updateFields(c, 'conduit_devices', DEVICE_FIELDS, m, 'id = $1', [ids.get(netid)]);
    for (const [netid, site] of moves)
      await c.query('UPDATE conduit_devices SET site_id = $1 WHERE id = $2', [site, ids.get(netid)]);
    for (const x of chMeta.values())
      await updateFields(c, 'conduit_channels', CHANNEL_FIELDS, x.m, 'device_id = $1 AND chid = $2', [
        ids.get(x.netid),
        x.chid,
      ]);
    return points.length;
  }

  ingestSeries(c: pg.ClientBase, user: number, s: Series, autoCreate: boolean): Promise<number> {
    const points = new Array<Datapoint>(s.chids.length);
    for (let i = 0; i < points.length; i++)
      points[i] = { dev_netid: s.netid, dev_chid: s.chids[i]!, val_date: s.date, val_raw: s.values[i]! };
    return this.ingest(c, user, points, { uplink: { autoCreate } });
  }

  private async visibleDevice(c: pg.ClientBase, netid: string, sites: Set<number>): Promise<DeviceRow> {
    const dev = (await devicesByNetid(c, [netid])).get(netid);
    if (!dev) throw new Refused('not-found', `device ${netid} not found`);
    if (!sites.has(dev.site_id)) throw new Refused('forbidden', `device ${netid} is not in one of your sites`);
    return dev;
  }

  /** as ConduitStore.updateMetadata */
  async updateMetadata(
    c: pg.ClientBase,
    user: number,
    ids: string[],
    chs: number[] | undefined,
    m: MetadataUpdate,
  ): Promise<number> {
    const dm = pick(DEVICE_FIELDS, m);
    const cm = pick(CHANNEL_FIELDS, m);
    if (cm && !chs) throw invalid(`${Object.keys(cm).join(', ')}: channel fields need the ch argument`);
    const sites = await sitesOf(c, user);
    let n = 0;
    for (const netid of ids) {
      const dev = await this.visibleDevice(c, netid, sites);
      if (m.dev_site !== undefined) {
        const site = (await siteIds(c, [m.dev_site])).get(m.dev_site);
        if (site === undefined || !sites.has(site))
          throw new Refused('forbidden', `site "${m.dev_site.slice(0, 100)}" is not one of your sites`);
        await c.query('UPDATE conduit_devices SET site_id = $1 WHERE id = $2', [site, dev.id]);
      }
      if (dm) await updateFields(c, 'conduit_devices', DEVICE_FIELDS, dm, 'id = $1', [dev.id]);
      if (dm || m.dev_site !== undefined) n++;
      for (const chid of cm ? chs! : []) {
        await c.query('INSERT INTO conduit_channels (device_id, chid) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          dev.id,
          chid,
        ]);
        await updateFields(c, 'conduit_channels', CHANNEL_FIELDS, cm!, 'device_id = $1 AND chid = $2', [dev.id, chid]);
        n++;
      }
    }
    return n;
  }

  /** as ConduitStore.deletePoints */
  async deletePoints(
    c: pg.ClientBase,
    user: number,
    ids: string[],
    chs: number[] | undefined,
    from: number,
    to: number,
  ): Promise<number> {
    const sites = await sitesOf(c, user);
    const devs: DeviceRow[] = [];
    for (const netid of ids) devs.push(await this.visibleDevice(c, netid, sites));
    let n = 0;
    for (const dev of devs) {
      const r = chs
        ? await c.query(
            'DELETE FROM conduit_datapoints WHERE device_id = $1 AND chid = ANY($2::int[]) AND val_date BETWEEN $3 AND $4',
            [dev.id, chs, from, to],
          )
        : await c.query('DELETE FROM conduit_datapoints WHERE device_id = $1 AND val_date BETWEEN $2 AND $3', [
            dev.id,
            from,
            to,
          ]);
      n += r.rowCount ?? 0;
    }
    return n;
  }
}
