/** The patriot routes appear in the OpenAPI document built from their zod schemas. */
import { expect, it } from 'vitest';
import { buildPatriot } from './helpers.js';

it('OpenAPI lists every patriot endpoint with its body and header schemas', async () => {
  const t = await buildPatriot();
  const r = await t.app.inject('/docs/json');
  expect(r.statusCode).toBe(200);
  const spec = r.json<{
    paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown }>>;
  }>();
  expect(spec.paths['/clients']).toBeDefined();
  expect(spec.paths['/clients']!.put!.requestBody).toBeDefined();
  expect(spec.paths['/clients']!.get!.parameters).toEqual(
    expect.arrayContaining([expect.objectContaining({ name: 'x-client-id', in: 'header' })]),
  );
  const methods = (p: string) => Object.keys(spec.paths[p] ?? {}).sort();
  // only the real operations: the 405 answers for other methods are not documented as endpoints
  expect(methods('/clients')).toEqual(['delete', 'get', 'patch', 'put']);
  expect(methods('/clients/zones')).toEqual(['delete', 'get', 'put']);
  expect(methods('/clients/zones/list')).toEqual(['post']);
  expect(methods('/clients/users')).toEqual(['delete', 'get', 'post', 'put']);
  expect(methods('/clients/users/single')).toEqual(['get']);
  expect(methods('/clients/users/list')).toEqual(['post']);
  expect(methods('/clients/users/get')).toEqual(['post']);
});
