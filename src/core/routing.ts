/** Route helpers shared by the modules: the 405 catch-all and request-scoped state. */
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import { HttpError } from './errors.js';

const ALL: readonly HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * For each path of `routes`, answers every other method with 405 + `Allow` (shaped by the scope's
 * error handler). It fails in onRequest, before the body is read: a wrong method is a 405 whatever
 * its body or Content-Type. The catch-all routes are hidden from OpenAPI (they are no operation).
 */
export function methodNotAllowed(
  scope: FastifyInstance,
  routes: Readonly<Record<string, readonly HTTPMethods[]>>,
): void {
  for (const [url, methods] of Object.entries(routes)) {
    const others = ALL.filter((m) => !methods.includes(m));
    if (!others.length) continue;
    const allow = methods.join(', ');
    scope.route({
      method: others,
      url,
      schema: { hide: true },
      onRequest: async () => {
        throw new HttpError(405, 'Method Not Allowed', { allow });
      },
      handler: async () => undefined,
    });
  }
}

/** A value attached to each request of a scope (Fastify's decorateRequest, not a side table). */
export interface RequestSlot<T> {
  get(req: FastifyRequest): T | undefined;
  set(req: FastifyRequest, value: T): void;
}

/** Declares the request decoration `name` on `scope` and returns typed access to it. */
export function requestSlot<T extends object>(scope: FastifyInstance, name: string): RequestSlot<T> {
  scope.decorateRequest(name, null);
  const bag = (req: FastifyRequest) => req as unknown as Record<string, T | null>;
  return {
    get: (req) => bag(req)[name] ?? undefined,
    set: (req, value) => {
      bag(req)[name] = value;
    },
  };
}
