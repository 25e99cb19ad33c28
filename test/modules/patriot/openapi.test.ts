/** The patriot routes appear in the OpenAPI document built from their zod schemas. */
import { afterEach, expect, it } from 'vitest';
import { makePatriot, type PatriotApp } from './helpers.js';

let t: PatriotApp;
afterEach(async () => {
  await t.close();
});

it('OpenAPI lists every patriot endpoint with its body and header schemas', async () => {
  t = await makePatriot();
  const r = await t.app.inject('/docs/json');
  expect(r.statusCode).toBe(200);
  const spec = r.json() as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown }>> };
  expect(spec.paths['/clients']).toBeDefined();
  expect(spec.paths['/clients']!.put!.requestBody).toBeDefined();
  expect(spec.paths['/clients']!.get!.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'x-client-id', in: 'header' })]));
  for (const p of ['/clients/zones', '/clients/zones/list', '/clients/users', '/clients/users/single', '/clients/users/list', '/clients/users/get']) {
    expect(spec.paths[p], p).toBeDefined();
  }
});
