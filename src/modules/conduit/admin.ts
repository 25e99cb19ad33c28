/** The operator API at /admin/conduit: users, tokens, sites, retention. Admin bearer token, core error shape. */
import { z } from 'zod';
import type { ZodApp } from '../../core/module.js';
import { USER_NAME_RE, type Users } from './users.js';

const name = z.string().regex(USER_NAME_RE);
const throttle = z.number().min(0).max(86400).nullable();
const user = z.object({
  id: z.number(),
  name: z.string(),
  enabled: z.boolean(),
  httpApi: z.boolean(),
  throttleSeconds: z.number().nullable(),
  createdAt: z.string(),
  sites: z.array(z.string()),
});
const params = z.object({ name: z.string() });
const siteParams = z.object({ name: z.string(), site: z.string().min(1).max(100) });
const tags = ['conduit admin'];

export function adminRoutes(users: Users, runRetention: () => Promise<unknown>) {
  return async (admin: ZodApp) => {
    admin.get('/users', { schema: { tags, response: { 200: z.array(user) } } }, async () => users.list());
    admin.post(
      '/users',
      {
        schema: {
          tags,
          body: z
            .object({
              name,
              token: z.string().min(16).max(256).optional(),
              sites: z.array(z.string().min(1).max(100)).max(1000).optional(),
              httpApi: z.boolean().optional(),
              throttleSeconds: throttle.optional(),
            })
            .strict(),
          response: { 201: z.object({ user, token: z.string() }) },
        },
      },
      async (req, reply) => reply.code(201).send(users.add(req.body)),
    );
    admin.patch(
      '/users/:name',
      {
        schema: {
          tags,
          params,
          body: z
            .object({
              enabled: z.boolean().optional(),
              httpApi: z.boolean().optional(),
              throttleSeconds: throttle.optional(),
            })
            .strict(),
          response: { 200: user },
        },
      },
      async (req) => users.update(req.params.name, req.body),
    );
    admin.post(
      '/users/:name/token',
      { schema: { tags, params, response: { 200: z.object({ token: z.string() }) } } },
      async (req) => ({ token: users.rotateToken(req.params.name) }),
    );
    admin.put(
      '/users/:name/sites/:site',
      { schema: { tags, params: siteParams, response: { 200: user } } },
      async (req) => users.grantSite(req.params.name, req.params.site),
    );
    admin.delete(
      '/users/:name/sites/:site',
      { schema: { tags, params: siteParams, response: { 200: user } } },
      async (req) => users.revokeSite(req.params.name, req.params.site),
    );
    admin.get('/sites', { schema: { tags } }, async () => users.sites());
    admin.post('/retention/run', { schema: { tags } }, async () => runRetention());
  };
}
