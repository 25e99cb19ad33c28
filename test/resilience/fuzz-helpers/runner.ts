/**
 * Runs fuzz requests through app.inject and checks the properties: no 5xx, the group's error
 * format, and counts the cases per route group.
 */
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { GROUPS, groupOf, shapeProblem, type Group } from './shapes.js';
import type { FuzzRequest } from './request.js';

export const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 300));
export const SEED =
  process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) : undefined;

export const counts: Record<Group, number> = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>;
/** answers per group and status class (2xx, 3xx, 4xx): shows how many cases got past auth and validation */
export const classes: Record<Group, Record<string, number>> = Object.fromEntries(GROUPS.map((g) => [g, {}])) as Record<
  Group,
  Record<string, number>
>;

/** header values go on the wire as bytes: what a client sends for non-Latin-1 text is its UTF-8 bytes */
function wireHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    out[k] = Buffer.from(v, 'utf8')
      .toString('latin1')
      .replace(/[\r\n\0]/g, ' ');
  return out;
}

export function describeReq(r: FuzzRequest): string {
  const p =
    r.payload === undefined
      ? ''
      : Buffer.isBuffer(r.payload)
        ? `<${r.payload.length} bytes>`
        : JSON.stringify(r.payload.slice(0, 300)) + (r.payload.length > 300 ? `…(${r.payload.length})` : '');
  return `${r.method} ${r.url.slice(0, 200) + (r.url.length > 200 ? `…(${r.url.length})` : '')} ${JSON.stringify(r.headers, (_k, v: unknown) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v))} ${p}`;
}

/** the path app.inject sends: it resolves the URL as WHATWG URL does (dot segments, backslashes) */
function injectedPath(url: string): string {
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return url;
  }
}

export interface Expect {
  /** the answer must have this status (405 routes) */
  status?: number;
}

/** One case: inject, then the properties. Throws with the request and answer when one fails. */
export async function runCase(app: FastifyInstance, r: FuzzRequest, expect: Expect = {}): Promise<void> {
  const group = groupOf(r.method, injectedPath(r.url));
  counts[group]++;
  const res = await app.inject({
    method: r.method as 'GET',
    url: r.url,
    headers: wireHeaders(r.headers),
    payload: r.payload,
  });
  const answer = { status: res.statusCode, headers: res.headers, body: res.body };
  const cls = `${Math.floor(res.statusCode / 100)}xx`;
  classes[group][cls] = (classes[group][cls] ?? 0) + 1;
  const fail = (why: string) => {
    throw new Error(
      `${why}\n  answer: ${res.statusCode} ${JSON.stringify(res.headers['content-type'])} ${res.body.slice(0, 500)}`,
    );
  };
  if (res.statusCode >= 500) fail(`5xx answer (${group})`);
  if (expect.status !== undefined && res.statusCode !== expect.status) fail(`expected ${expect.status}`);
  const problem = r.method === 'HEAD' ? undefined : shapeProblem(group, answer);
  if (problem) fail(`wrong error format for ${group}: ${problem}`);
}

/** Many cases at once (concurrent requests share group commits and write queues). */
export async function fuzzConcurrent(
  app: FastifyInstance,
  arb: fc.Arbitrary<FuzzRequest>,
  runs: number,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc
        .array(arb, { minLength: 2, maxLength: 24 })
        .map((rs) => Object.assign(rs, { [fc.toStringMethod]: () => rs.map(describeReq).join('\n') })),
      async (rs) => {
        await Promise.all(rs.map((r) => runCase(app, r)));
      },
    ),
    { numRuns: runs, seed: SEED, endOnFailure: true },
  );
  const h = await app.inject({ method: 'GET', url: '/healthz' });
  if (h.statusCode !== 200) throw new Error(`/healthz answered ${h.statusCode} after the batch`);
}

/** fc.assert over `arb` with the suite's runs and seed (fast-check prints seed and counterexample on failure). */
export async function fuzz(
  app: FastifyInstance,
  arb: fc.Arbitrary<FuzzRequest>,
  runs = RUNS,
  expect: Expect = {},
): Promise<void> {
  await fc.assert(
    // counterexamples print short (a huge generated string would flood the report)
    fc.asyncProperty(
      arb.map((r) => Object.assign(r, { [fc.toStringMethod]: () => describeReq(r) })),
      (r) => runCase(app, r, expect),
    ),
    { numRuns: runs, seed: SEED, endOnFailure: true },
  );
  const h = await app.inject({ method: 'GET', url: '/healthz' });
  if (h.statusCode !== 200) throw new Error(`/healthz answered ${h.statusCode} after the batch`);
}
