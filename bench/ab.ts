/**
 * A/B of the per-request core cost: the same hot routes on two fieldhub checkouts and the bare
 * server, interleaved round by round in one run so that drift and other load hit all three alike.
 *   node --import tsx bench/ab.ts /work/main      (AB_ROUNDS=3, AB_SECONDS=4)
 * Prints rate, p99, server CPU per request and the ratio to the bare route for A (the other
 * checkout) and B (this tree). Not part of `npm run bench` (it needs a second checkout).
 */
import { abRounds, load, printTable, startBare, startFieldhub, type AbStep, deviceCycle } from './lib.js';

const other = process.argv[2];
if (!other) throw new Error('usage: bench/ab.ts <other checkout>');
const ROUNDS = Number(process.env.AB_ROUNDS ?? 3);
const SECONDS = Number(process.env.AB_SECONDS ?? 4);

const bare = await startBare();
const a = await startFieldhub({ push: { pollPeriodSeconds: 5 } }, { root: other });
const b = await startFieldhub({ push: { pollPeriodSeconds: 5 } });
/** the steps, each a load run of `seconds` */
const planOf = (seconds: number): AbStep[] =>
  (
    [
      ['bare /bare/empty', bare, `${bare.url}/bare/empty`, true],
      ['A GET /push', a, `${a.url}/push`, true],
      ['B GET /push', b, `${b.url}/push`, true],
      ['bare /bare/json', bare, `${bare.url}/bare/json`, false],
      ['A GET /healthz', a, `${a.url}/healthz`, false],
      ['B GET /healthz', b, `${b.url}/healthz`, false],
    ] as const
  ).map(([key, server, url, cycle]) => [
    key,
    server,
    () =>
      load({
        url,
        duration: seconds,
        eld: false,
        ...(cycle ? { requests: deviceCycle(new URL(url).pathname) as never } : {}),
      }),
  ]);
try {
  for (const [, , warmUp] of planOf(2)) await warmUp();
  const rows = await abRounds('ab', planOf(SECONDS), ROUNDS, (k) =>
    k.includes('push') || k.includes('empty') ? 'bare /bare/empty' : 'bare /bare/json',
  );
  printTable(rows);
} finally {
  await Promise.all([a.stop(), b.stop(), bare.stop()]);
}
