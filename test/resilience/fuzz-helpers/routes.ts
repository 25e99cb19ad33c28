/**
 * The routes of the app as Fastify knows them (printRoutes, so hidden routes are included) and
 * what each declares as input in the OpenAPI document; plus the generic noise generator that
 * every route gets (random method-compatible requests with random headers, query and body).
 */
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { credsArb, type FuzzRequest } from './request.js';
import { anyBodyText, anyContentType, anyName, pct, queryOf, randomHeaders, TRAVERSAL } from './values.js';

export interface Route {
  method: string;
  /** Fastify's path, `:param` and `*` included */
  path: string;
}

/** Parses `app.printRoutes({ commonPrefix: false })`: a tree whose children append to their parent's path. */
export function listRoutes(app: FastifyInstance): Route[] {
  const out: Route[] = [];
  const stack: Array<{ depth: number; path: string }> = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    while (stack.length && stack[stack.length - 1]!.depth >= depth) stack.pop();
    const seg = m[2]!;
    const full =
      (stack.length ? stack[stack.length - 1]!.path : '') + (seg.startsWith('/') || !stack.length ? seg : `/${seg}`);
    stack.push({ depth, path: full });
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      out.push({ method, path: full });
  }
  return out;
}

/** OpenAPI input of a route: parameter locations and whether it has a request body. */
export function openApiInput(app: FastifyInstance): Map<string, string[]> {
  const doc = app.swagger() as {
    paths: Record<string, Record<string, { parameters?: Array<{ in: string }>; requestBody?: unknown }>>;
  };
  const out = new Map<string, string[]>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    const path = p.replace(/\{([^}]+)\}/g, ':$1');
    for (const [method, op] of Object.entries(ops)) {
      const ins = [...new Set((op.parameters ?? []).map((x) => x.in))];
      if (op.requestBody) ins.push('body');
      out.set(`${method.toUpperCase()} ${path}`, ins);
    }
  }
  return out;
}

const fillParams = (path: string) =>
  fc
    .array(fc.oneof(anyName.map(pct), fc.constantFrom(...TRAVERSAL.filter((t) => !/[\0%\\]/.test(t)))), {
      minLength: 4,
      maxLength: 4,
    })
    .map((vals) => {
      let i = 0;
      return path.replace(/:[A-Za-z_]+|\*/g, () => vals[i++ % vals.length]!);
    });

/** Noise for any route: its method or a neighbour, random query/headers/body, any credentials. */
export function noiseFor(r: Route, cred: Parameters<typeof credsArb>[0], head = false): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(
      fc.constantFrom(...(head && r.method === 'GET' ? ['GET', 'HEAD'] : [r.method])),
      fillParams(r.path),
      queryOf(['token', 'limit', 'offset', 'id', 'x']),
      credsArb(cred),
      randomHeaders,
      fc.option(fc.tuple(anyBodyText, anyContentType), { freq: 2 }),
    )
    .map(([method, path, q, c, h, body]) => {
      const headers: Record<string, string> = { ...h };
      if (body && body[1] !== undefined) headers['content-type'] = body[1];
      const cq = c(headers);
      const qs = [q, cq].filter(Boolean).join('&');
      const withBody = body && method !== 'GET' && method !== 'HEAD';
      return { method, url: qs ? `${path}?${qs}` : path, headers, payload: withBody ? body[0] : undefined };
    });
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'SEARCH', 'PROPFIND', 'QUERY', 'LOCK'];

/** Requests to paths no route serves, next to real ones: prefixes with junk, traversal, encoded slashes. */
export function unknownPaths(routes: Route[]): fc.Arbitrary<FuzzRequest> {
  const prefixes = [...new Set(routes.map((r) => r.path.replace(/\/?(:[A-Za-z_]+|\*).*$/, '')))];
  const suffix = fc.oneof(
    anyName.map(pct),
    fc.constantFrom(...TRAVERSAL.filter((t) => !/[\0\\]/.test(t))),
    fc.constantFrom(
      '%2f',
      '%2F..%2F',
      '//',
      '/./',
      ';x',
      '%00',
      '%',
      '%zz',
      '?',
      '#x',
      '%c0%af',
      '..;/',
      'x'.repeat(3000),
    ),
  );
  return fc
    .tuple(
      fc.constantFrom(...prefixes, ''),
      suffix,
      fc.constantFrom(...METHODS),
      randomHeaders,
      fc.option(anyBodyText, { freq: 3 }),
    )
    .map(([p, s, method, headers, body]) => ({
      method,
      url: `${p}/${s}`.replace(/^\/\//, '/'),
      headers: { ...headers, ...(body !== null && method !== 'GET' ? { 'content-type': 'application/json' } : {}) },
      payload: body !== null && method !== 'GET' ? body : undefined,
    }));
}
