/** The operator API scope: `/admin/<module>/...`, admin bearer token, core error shape. */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { coreShape, installErrorFormat } from './errors.js';
import type { ZodApp } from './module.js';

/**
 * Registers `routes` under `prefix` (e.g. `/admin/push`) guarded by the admin token. Bodies and
 * errors use the core shape `{statusCode, error, message}`.
 */
export async function registerAdmin(
  app: FastifyInstance,
  prefix: string,
  routes: (admin: ZodApp) => Promise<void> | void,
): Promise<void> {
  const plugin: FastifyPluginAsync = async (scope) => {
    scope.addHook('onRequest', scope.requireAdmin);
    installErrorFormat(scope, coreShape);
    await routes(scope.withTypeProvider<ZodTypeProvider>());
  };
  await app.register(plugin, { prefix });
}
