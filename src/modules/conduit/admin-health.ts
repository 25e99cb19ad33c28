/**
 * /admin/conduit health (the console's tile), devices with their last datapoint (paged), and one
 * series of datapoints for a chart. Reads only; statements prepared once.
 */
import { z } from 'zod';
import type { DB } from '../../core/db.js';
import type { ZodApp } from '../../core/module.js';

const tags = ['conduit admin'];
const devicesQuery = z
  .object({
    q: z.string().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
const pointsQuery = z
  .object({
    netid: z.string().min(1).max(200),
    chid: z.coerce.number().int().min(0),
    from: z.coerce.number().int().optional(),
    to: z.coerce.number().int().optional(),
    limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  })
  .strict();

export function healthRoutes(db: DB, silentMinutes: number) {
  const lastPerDevice = `SELECT v.id, v.netid, s.name AS site, v.tag, v.label,
      (SELECT MAX(d.val_date) FROM conduit_channels c JOIN conduit_datapoints d ON d.device_id = c.device_id AND d.chid = c.chid
        WHERE c.device_id = v.id) AS last
    FROM conduit_devices v JOIN conduit_sites s ON s.id = v.site_id`;
  const s = {
    users: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(enabled), 0) AS enabled FROM conduit_users'),
    devices: db.prepare(`${lastPerDevice} ORDER BY v.netid`),
    page: db.prepare(
      `${lastPerDevice} WHERE (@q IS NULL OR instr(v.netid, @q) > 0 OR instr(COALESCE(v.tag, ''), @q) > 0) ORDER BY v.netid LIMIT @limit OFFSET @offset`,
    ),
    count: db
      .prepare(
        `SELECT COUNT(*) FROM conduit_devices v WHERE (@q IS NULL OR instr(v.netid, @q) > 0 OR instr(COALESCE(v.tag, ''), @q) > 0)`,
      )
      .pluck(),
    recent: db.prepare('SELECT COUNT(*) FROM conduit_datapoints WHERE val_date >= ?').pluck(),
    channels: db.prepare(
      'SELECT c.chid, c.type, c.description FROM conduit_channels c JOIN conduit_devices v ON v.id = c.device_id WHERE v.netid = ? ORDER BY c.chid',
    ),
    points: db
      .prepare(
        `SELECT d.val_date, d.val_raw FROM conduit_devices v JOIN conduit_datapoints d ON d.device_id = v.id
         WHERE v.netid = @netid AND d.chid = @chid AND d.val_date BETWEEN @from AND @to ORDER BY d.val_date LIMIT @limit`,
      )
      .raw(true),
  };
  type DeviceRow = {
    id: number;
    netid: string;
    site: string;
    tag: string | null;
    label: string | null;
    last: number | null;
  };
  const view = (r: DeviceRow) => ({
    netid: r.netid,
    site: r.site,
    tag: r.tag,
    label: r.label,
    lastDatapoint: r.last === null ? null : new Date(r.last * 1000).toISOString(),
  });

  return async (admin: ZodApp) => {
    admin.get(
      '/health',
      {
        schema: {
          tags,
          summary: 'green / amber / red with the reasons: users, ingest in the last hour, silent devices',
        },
      },
      async () => {
        const nowS = Math.floor(Date.now() / 1000);
        const u = s.users.get() as { n: number; enabled: number };
        const devices = s.devices.all() as DeviceRow[];
        const silent = devices.filter((d) => d.last === null || d.last < nowS - silentMinutes * 60);
        const lastHour = s.recent.get(nowS - 3600) as number;
        const reasons: string[] = [];
        let status: 'green' | 'amber' | 'red' = 'green';
        if (silent.length) {
          status = 'red';
          const names = silent
            .slice(0, 5)
            .map((d) => d.netid)
            .join(', ');
          reasons.push(
            `${silent.length} device(s) silent for more than ${silentMinutes} min: ${names}${silent.length > 5 ? ', ...' : ''}`,
          );
        }
        if (u.n === 0) {
          if (status === 'green') status = 'amber';
          reasons.push('no users: nothing can be ingested');
        }
        if (!reasons.length)
          reasons.push(`${devices.length} device(s) reporting; ${lastHour} datapoint(s) in the last hour`);
        return {
          module: 'conduit',
          status,
          reasons,
          counts: {
            users: u.n,
            enabledUsers: u.enabled,
            devices: devices.length,
            silent: silent.length,
            datapointsLastHour: lastHour,
            ingestPerMinute: Math.round((lastHour / 60) * 10) / 10,
          },
        };
      },
    );

    admin.get(
      '/devices',
      { schema: { tags, summary: 'Devices with site and last datapoint, paged', querystring: devicesQuery } },
      async (req) => {
        const q = { q: req.query.q ?? null, limit: req.query.limit, offset: req.query.offset };
        return { total: s.count.get(q) as number, devices: (s.page.all(q) as DeviceRow[]).map(view) };
      },
    );

    admin.get(
      '/datapoints',
      {
        schema: {
          tags,
          summary: "One device channel's datapoints in a range (val_date seconds), oldest first",
          querystring: pointsQuery,
        },
      },
      async (req) => {
        const { netid, chid, limit } = req.query;
        const to = req.query.to ?? Math.floor(Date.now() / 1000);
        const from = req.query.from ?? to - 86400;
        const rows = s.points.all({ netid, chid, from, to, limit }) as Array<[number, number]>;
        return { netid, chid, from, to, channels: s.channels.all(netid), points: rows };
      },
    );
  };
}
