/**
 * A/B of the patriot API: the same write and read workloads (bench/patriot.ts) on another checkout
 * (A) and this tree (B), beside the bare routes, interleaved round by round in one run so that the
 * shared machine's drift hits all three alike. Reports rate, p99, server CPU per request and the
 * ratio to the bare route.
 *   node --import tsx bench/patriot-ab.ts /work/main      (AB_ROUNDS=3, AB_SECONDS=4, AB_CLIENTS=300)
 * Not part of `npm run bench` (it needs a second checkout).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KEY, readSequence, writeSequence } from './patriot.js';
import {
  abRounds,
  load,
  printTable,
  startBare,
  startFieldhub,
  type AbStep,
  type ServerHandle,
  writePatriotKey,
} from './lib.js';

const other = process.argv[2];
if (!other) throw new Error('usage: bench/patriot-ab.ts <other checkout>');
const ROUNDS = Number(process.env.AB_ROUNDS ?? 3);
const SECONDS = Number(process.env.AB_SECONDS ?? 4);
const CLIENTS = Number(process.env.AB_CLIENTS ?? 300);

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-patriot-ab-'));
  writePatriotKey(dir, 'Bench', KEY);
  return dir;
}

const auth = { authorization: `Bearer ${KEY}` };
const bare = await startBare();
const a = await startFieldhub({}, { root: other, dataDir: dataDir() });
const b = await startFieldhub({}, { dataDir: dataDir() });
// each round writes the next CLIENTS clients (ids from 1 on), the reads cycle over those of the first round
const round = new Map<ServerHandle, number>();
const writes = (s: ServerHandle, prefix: string, h: Record<string, string>) => () => {
  const r = round.get(s) ?? 0;
  round.set(s, r + 1);
  const requests = writeSequence(prefix, h, r * CLIENTS + 1) as never;
  return load({ url: s.url, requests, amount: CLIENTS * 3, connections: 10, eld: false });
};
const reads = (s: ServerHandle, prefix: string, h: Record<string, string>) => () =>
  load({ url: s.url, requests: readSequence(prefix, h, CLIENTS) as never, duration: SECONDS, eld: false });
try {
  const plan: AbStep[] = [
    ['bare writes', bare, writes(bare, '/bare/patriot', {})],
    ['A writes', a, writes(a, '', auth)],
    ['B writes', b, writes(b, '', auth)],
    ['bare GET /clients', bare, reads(bare, '/bare/patriot', {})],
    ['A GET /clients', a, reads(a, '', auth)],
    ['B GET /clients', b, reads(b, '', auth)],
  ];
  const rows = await abRounds('patriot-ab', plan, ROUNDS, (k) =>
    k.includes('writes') ? 'bare writes' : 'bare GET /clients',
  );
  printTable(rows);
} finally {
  await Promise.all([a.stop(), b.stop(), bare.stop()]);
}
