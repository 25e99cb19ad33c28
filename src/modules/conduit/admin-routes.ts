/**
 * The operator API at /admin/conduit (admin bearer token or console session, core error shape):
 * users (plan, switches, token, sites), sites, retention, and the console's reads (health tile,
 * devices with their last datapoint, one channel's datapoints for a chart). Its writes run on the
 * writer thread (writes.ts), so they never wait on the event loop for the lock that ingest holds.
 */
import { z } from 'zod';
import type { ZodApp } from '../../core/module.js';
import { PLANS } from './plans.js';
import { mapRefusals } from './routes.js';
import type { ConduitService } from './service.js';
import type { ConduitReads } from './store.js';
import { USER_NAME_RE } from './users.js';

const tags = ['conduit admin'];
const name = z.string().regex(USER_NAME_RE);
const throttle = z.number().min(0).max(86400).nullable();
const plan = z.enum(PLANS).describe('usage limits: spec (default), standard, pro, enterprise (see docs/conduit.md)');
const user = z.object({
  id: z.number(),
  name: z.string(),
  enabled: z.boolean(),
  httpApi: z.boolean(),
  throttleSeconds: z.number().nullable(),
  plan,
  createdAt: z.string(),
  sites: z.array(z.string()),
});
const params = z.object({ name: z.string() });
const siteParams = z.object({ name: z.string(), site: z.string().min(1).max(100) });
const newUser = z
  .object({
    name,
    token: z.string().min(16).max(256).optional(),
    sites: z.array(z.string().min(1).max(100)).max(1000).optional(),
    httpApi: z.boolean().optional(),
    throttleSeconds: throttle.optional(),
    plan: plan.optional(),
  })
  .strict();
const userPatch = z
  .object({
    enabled: z.boolean().optional(),
    httpApi: z.boolean().optional(),
    throttleSeconds: throttle.optional(),
    plan: plan.optional(),
  })
  .strict();
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

export interface AdminDeps {
  reads: ConduitReads;
  svc: ConduitService;
  silentMinutes: number;
  runRetention: () => Promise<unknown>;
}

export function adminRoutes(d: AdminDeps) {
  const { reads, svc } = d;
  return (scope: ZodApp) =>
    mapRefusals(scope, (admin) => {
      admin.get('/users', { schema: { tags, response: { 200: z.array(user) } } }, async () => reads.users());
      admin.post(
        '/users',
        { schema: { tags, body: newUser, response: { 201: z.object({ user, token: z.string() }) } } },
        async (req, reply) => reply.code(201).send(await svc.write('conduit.user.add', req.body)),
      );
      admin.patch('/users/:name', { schema: { tags, params, body: userPatch, response: { 200: user } } }, async (req) =>
        svc.write('conduit.user.update', { name: req.params.name, patch: req.body }),
      );
      admin.post(
        '/users/:name/token',
        { schema: { tags, params, response: { 200: z.object({ token: z.string() }) } } },
        async (req) => ({ token: await svc.write('conduit.user.token', { name: req.params.name }) }),
      );
      admin.put(
        '/users/:name/sites/:site',
        { schema: { tags, params: siteParams, response: { 200: user } } },
        async (req) => svc.write('conduit.user.grant', { name: req.params.name, site: req.params.site }),
      );
      admin.delete(
        '/users/:name/sites/:site',
        { schema: { tags, params: siteParams, response: { 200: user } } },
        async (req) => svc.write('conduit.user.revoke', { name: req.params.name, site: req.params.site }),
      );
      admin.get('/sites', { schema: { tags } }, async () => reads.sites());
      admin.post('/retention/run', { schema: { tags } }, async () => d.runRetention());

      admin.get(
        '/health',
        {
          schema: {
            tags,
            summary: 'green / amber / red with the reasons: users, ingest in the last hour, silent devices',
          },
        },
        async () => d.svc.health(d.silentMinutes),
      );
      admin.get(
        '/devices',
        { schema: { tags, summary: 'Devices with site and last datapoint, paged', querystring: devicesQuery } },
        async (req) => {
          const page = await reads.devicePage(req.query.q ?? null, req.query.limit, req.query.offset);
          return {
            total: page.total,
            devices: page.devices.map((r) => ({
              netid: r.netid,
              site: r.site,
              tag: r.tag,
              label: r.label,
              lastDatapoint: r.last === null ? null : new Date(r.last * 1000).toISOString(),
            })),
          };
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
          const to = req.query.to ?? d.svc.nowSeconds();
          const from = req.query.from ?? to - 86400;
          const points = await reads.channelSeries({ netid, chid, from, to, limit });
          return { netid, chid, from, to, channels: await reads.channelsOf(netid), points };
        },
      );
    });
}
