/**
 * Bad input (issue 8): a fast-check property suite over every route that takes input. Properties:
 * never a 5xx, never a crash (/healthz after every batch; the socket part runs a real server
 * process), never a write outside the data dir, every error answer in its module's format.
 * FUZZ_RUNS (cases per route generator, default 300) and FUZZ_SEED tune it; see docs/reliability-fuzz.md.
 */
import type { FastifyInstance } from 'fastify';
import { XMLValidator } from 'fast-xml-parser';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { LogCapture } from '../helpers/app.js';
import { onPostgres } from '../helpers/driver.js';
import { GENERATORS, METHOD_NOT_ALLOWED_PATHS, NO_INPUT } from './fuzz-helpers/generators.js';
import { classes, counts, fuzz, fuzzConcurrent, RUNS, SEED } from './fuzz-helpers/runner.js';
import { listRoutes, noiseFor, openApiInput, unknownPaths, type Route } from './fuzz-helpers/routes.js';
import {
  ADMIN_TOKEN,
  CONDUIT_SITE,
  CONDUIT_TOKEN,
  SYNC_TOKEN,
  escapesOf,
  makeSandbox,
  markerFilesOutside,
  snapshot,
  snapshotDiff,
  type Sandbox,
  type Snapshot,
} from './fuzz-helpers/sandbox.js';
import { groupOf, GROUPS } from './fuzz-helpers/shapes.js';
import { runSocketFuzz, socketCounts, socketKinds } from './fuzz-helpers/socket.js';
import fc from 'fast-check';

let box: Sandbox;
let app: FastifyInstance;
let logs: LogCapture;
let before: Snapshot;
let routes: Route[];
const started = Date.now();

const key = (r: Route) => `${r.method} ${r.path}`;
const credOf = (p: string) => {
  const g = groupOf('GET', p);
  return g === 'admin'
    ? 'admin'
    : g === 'sync'
      ? 'sync'
      : g === 'conduit'
        ? 'conduit'
        : g === 'patriot'
          ? 'patriot'
          : 'none';
};

beforeAll(async () => {
  box = makeSandbox();
  const config = loadConfig({
    file: path.join(import.meta.dirname, '..', 'helpers', 'empty-config.json'),
    env: {},
    overrides: box.overrides,
  });
  logs = new LogCapture();
  app = await buildApp(config, { logStream: logs, defaultMetrics: false });
  await app.ready();
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (const [name, token] of [
    ['fuzzuser-main', CONDUIT_TOKEN],
    ['victim', 'victim-token-0123456789'],
  ]) {
    const r = await app.inject({
      method: 'POST',
      url: '/admin/conduit/users',
      headers: admin,
      payload: { name, token, sites: [CONDUIT_SITE], throttleSeconds: 0 },
    });
    expect(r.statusCode, r.body).toBe(201);
  }
  routes = listRoutes(app).filter((r) => r.method !== 'HEAD');
  before = snapshot(box.parent, box.dataDir);
});

afterAll(async () => {
  await app?.close();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const per = GROUPS.map((g) => `${g}=${counts[g]}`).join(' ');
  for (const g of GROUPS) console.log(`FUZZ ${g}: ${counts[g]} cases, answers ${JSON.stringify(classes[g])}`);
  console.log(
    `FUZZ socket kinds: ${Object.entries(socketKinds)
      .map(([k, v]) => `${k}=${v.cases}(${v.answered} answered)`)
      .join(' ')}`,
  );
  const sock = Object.entries(socketCounts)
    .map(([g, n]) => `${g}=${n}`)
    .join(' ');
  const socketTotal = Object.values(socketCounts).reduce((a, b) => a + b, 0);
  console.log(
    `FUZZ SUMMARY seed=${SEED ?? 'random'} runs/route=${RUNS}: inject ${per} (total ${total}); socket ${sock} (total ${socketTotal}); overall ${total + socketTotal} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  box?.cleanup();
});

describe('routes', () => {
  it('every route that takes input has a generator; the no-input allow-list takes none', () => {
    const docs = openApiInput(app);
    const missing: string[] = [];
    for (const r of routes) {
      const k = key(r);
      // a 405 route reads nothing: it may be documented, but with no input (the 405 test asserts its status)
      if (
        GENERATORS[k] ||
        NO_INPUT.has(k) ||
        (METHOD_NOT_ALLOWED_PATHS.includes(r.path) && (docs.get(k) ?? []).length === 0)
      )
        continue;
      missing.push(k);
    }
    expect(missing, 'routes without a fuzz generator (add one in test/resilience/fuzz-helpers/generators.ts)').toEqual(
      [],
    );
    for (const k of NO_INPUT) {
      const ins = docs.get(k);
      if (ins) expect(ins, `${k} is allow-listed as taking no input`).toEqual([]);
    }
    // the known surface is there (a module that silently failed to mount would shrink the fuzz)
    for (const k of [
      'POST /sync',
      'GET /push',
      'POST /result',
      'POST /conduitv6',
      'PUT /clients',
      'POST /admin/push/commands',
    ]) {
      expect(routes.map(key)).toContain(k);
    }
  });
});

describe('bad input through app.inject', () => {
  for (const [k, gen] of Object.entries(GENERATORS)) {
    it(`${k}`, async (ctx) => {
      const [method, p] = k.split(' ') as [string, string];
      if (!routes.some((r) => r.method === method && r.path === p)) ctx.skip(); // e.g. a module not merged yet
      await fuzz(app, gen);
    });
  }

  it('noise on every route (any credentials, random query, headers and body)', async () => {
    // HEAD too, on GET routes that expose it (only the status is checked: a HEAD answer has no body)
    const heads = new Set(
      listRoutes(app)
        .filter((r) => r.method === 'HEAD')
        .map((r) => r.path),
    );
    for (const r of routes)
      await fuzz(app, noiseFor(r, credOf(r.path), heads.has(r.path)), Math.max(5, Math.round(RUNS / 4)));
  });

  it('methods a path does not serve answer 405 in the module format', async () => {
    for (const p of METHOD_NOT_ALLOWED_PATHS) {
      const served = routes
        .filter((r) => r.path === p && (GENERATORS[key(r)] || NO_INPUT.has(key(r))))
        .map((r) => r.method);
      const others = routes.filter((r) => r.path === p && !served.includes(r.method));
      for (const r of others)
        await fuzz(app, noiseFor(r, credOf(p)), Math.max(3, Math.round(RUNS / 8)), { status: 405 });
    }
  });

  it('all the generators at once: concurrent requests of every route', async () => {
    const present = Object.entries(GENERATORS)
      .filter(([k]) => routes.some((r) => key(r) === k))
      .map(([, gen]) => gen);
    await fuzzConcurrent(app, fc.oneof(...present), Math.max(5, Math.round(RUNS / 2)));
  });

  it('concurrent requests within each module (same clients, devices and payload names collide)', async () => {
    for (const prefix of ['/sync', '/push|/result|/admin/push', '/conduitv6|/admin/conduit', '/clients', '/admin']) {
      const re = new RegExp(`^[A-Z]+ (${prefix})`);
      const present = Object.entries(GENERATORS)
        .filter(([k]) => re.test(k) && routes.some((r) => key(r) === k))
        .map(([, gen]) => gen);
      if (present.length) await fuzzConcurrent(app, fc.oneof(...present), Math.max(5, Math.round(RUNS / 3)));
    }
  });

  it('unknown paths, odd methods and traversal in the path', async () => {
    await fuzz(app, unknownPaths(routes), RUNS * 5);
  });

  it('wrote nothing outside the data dir, and nothing in it points out of it', async () => {
    // let the accepted sync payloads be processed and the patriot XML writes settle first
    const p = await app.inject({
      method: 'POST',
      url: '/admin/sync/process',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(p.statusCode, p.body).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    // what the accepted payloads left in the hub is still served
    for (const url of ['/sync', '/sync/devices?limit=1000', '/sync/notifications?limit=1000']) {
      const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${SYNC_TOKEN}` } });
      expect(r.statusCode, `${url}: ${r.body.slice(0, 300)}`).toBe(200);
    }
    expect(snapshotDiff(before, snapshot(box.parent, box.dataDir))).toEqual([]);
    expect(escapesOf(box.dataDir)).toEqual([]);
    // every XML the accepted patriot writes produced (per-client files, a combined clients.xml) is well-formed;
    // on PostgreSQL the per-client XML is the rows of patriot_client_xml (and any .xml file in the data dir)
    const xmls: Array<[string, string]> = readdirSync(box.dataDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.xml'))
      .map((f) => [f, readFileSync(path.join(box.dataDir, f), 'utf8')]);
    if (onPostgres) {
      const rows = await app.pg!.query<{ key_name: string; client_id: number; xml: string }>(
        'SELECT key_name, client_id, xml FROM patriot_client_xml',
      );
      for (const r of rows.rows) xmls.push([`patriot_client_xml ${r.key_name}/${r.client_id}`, r.xml]);
    }
    expect(xmls.length, 'patriot writes that got through').toBeGreaterThan(0);
    for (const [f, text] of xmls) expect(XMLValidator.validate(text), f).toBe(true);
    expect(markerFilesOutside(box.dataDir)).toEqual([]);
    expect(logs.text).not.toMatch(/uncaught|unhandled/i);
    // no error line at all: a 5xx, a failed background step or a crash would each write one
    const errors = logs
      .json()
      .filter((l) => Number(l.level) >= 50)
      .map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '').slice(0, 300)}`);
    expect(errors).toEqual([]);
  });
});

describe('bad bytes over a real socket (server in a child process)', () => {
  it('invalid UTF-8, truncated bodies, wrong Content-Length, bomb and truncated gzip', async () => {
    await runSocketFuzz(fc, Math.max(10, RUNS));
  });
});
