/** Core overhead: GET /healthz of fieldhub against a bare Fastify JSON route, same run. */
import { isMain, load, printTable, row, startBare, startFieldhub, type BenchRow } from './lib.js';

export async function run(): Promise<BenchRow[]> {
  const fh = await startFieldhub();
  const bare = await startBare();
  try {
    const b = await load({ url: `${bare.url}/bare/json`, duration: 5 });
    const f = await load({ url: `${fh.url}/healthz`, duration: 5 });
    return [row('core', 'GET /healthz', f, b, fh)];
  } finally {
    await fh.stop();
    await bare.stop();
  }
}

if (isMain(import.meta.url)) printTable(await run());
