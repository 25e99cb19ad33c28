/**
 * Growth: the same Conduit query and the same Patriot GET at 1x, 10x and 100x the data, to show
 * how latency grows with the table (it should stay flat, thanks to the indexes).
 *   Conduit: 50k, 500k, 5M datapoints; GET one device, one channel, a 30-minute window (30 datapoints).
 *   Patriot: 1k, 10k, 100k clients (3 zones, 2 users each); GET /clients of a random client.
 *   node --import tsx bench/growth.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { PatriotStore } from '../src/modules/patriot/store.js';
import { GEN, generate, netidOf } from './conduit.js';
import { isMain, load, printTable, row, startFieldhub, type BenchRow, writePatriotKey } from './lib.js';

const SCALES = [1, 10, 100];
const emptyConfig = path.join(import.meta.dirname, '../test/helpers/empty-config.json');
const KEY = 'growth-patriot-key-0123456789';

function seedPatriot(dataDir: string, clients: number): void {
  writePatriotKey(dataDir, 'Growth', KEY);
  const store = openStore(loadConfig({ file: emptyConfig, env: {}, overrides: { dataDir } }));
  store.db.pragma('synchronous = OFF');
  const p = new PatriotStore(store.db);
  const info = {
    Name: 'Ola Nordmann',
    Location: 'Produksjonsveien 13',
    area_code: '1604',
    area: 'Fredrikstad',
    BusPhone: '69310000',
  };
  for (let start = 1; start <= clients; start += 5000) {
    p.transaction(() => {
      for (let id = start; id < Math.min(clients + 1, start + 5000); id++) {
        p.putInfo('Growth', id, { ...info, Name: `Kunde ${id}` } as never);
        for (let z = 1; z <= 3; z++) p.putZone('Growth', id, { Zone_No: z, Zone_area: `Sone ${z}`, ModuleNo: 0 });
        for (let u = 1; u <= 2; u++) {
          p.insertUser('Growth', id, {
            User_Name: `Bruker ${u}`,
            MobileNo: '+4712345678',
            MobileNoOrder: 1,
            Email: 'u@example.no',
            Type: 'U',
            UserNo: u,
            Instructions: '',
            CallOrder: u,
          });
        }
      }
    });
  }
  store.close();
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const scale of SCALES) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fieldhub-bench-growth-'));
    try {
      const datapoints = 50_000 * scale;
      const clients = 1_000 * scale;
      const gen = generate(dataDir, datapoints);
      seedPatriot(dataDir, clients);
      const fh = await startFieldhub({ conduit: { throttleSeconds: 0 } }, { dataDir });
      try {
        const minutes = gen.rows / (GEN.DEVICES * GEN.CHANNELS);
        const from = GEN.START + Math.floor(minutes / 2 - 15) * 60;
        const url = `${fh.url}/conduitv6?id=${netidOf(77)}&ch=2&fcdt=${from}&tcdt=${from + 29 * 60}`;
        const check = await fetch(url, { headers: { 'x-api-key': GEN.TOKEN } });
        const n = ((await check.json()) as unknown[]).length;
        if (n !== 30) throw new Error(`growth query answered ${n} datapoints, expected 30`);
        const c = await load({ url, connections: 4, duration: 4, headers: { 'x-api-key': GEN.TOKEN } });
        rows.push({
          ...row(
            'growth',
            `conduit GET 30 datapoints of ${(gen.rows / 1e6).toFixed(2)}M (${scale}x)`,
            c,
            undefined,
            fh,
          ),
        });
        let i = 0;
        const p = await load({
          url: fh.url,
          connections: 4,
          duration: 4,
          requests: [
            {
              method: 'GET',
              path: '/clients',
              setupRequest: (req: Record<string, unknown>) => ({
                ...req,
                headers: { authorization: `Bearer ${KEY}`, 'x-client-id': String(((i++ * 7919) % clients) + 1) },
              }),
            },
          ] as never,
        });
        rows.push({ ...row('growth', `patriot GET /clients of ${clients} clients (${scale}x)`, p, undefined, fh) });
      } finally {
        await fh.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  // how latency grows: p50 at 100x over p50 at 1x, per workload
  for (const kind of ['conduit', 'patriot']) {
    const rs = rows.filter((r) => r.workload.startsWith(kind));
    const first = rs[0];
    const last = rs[rs.length - 1];
    if (first && last)
      last.note = `rate 100x/1x = ${(last.rate / first.rate).toFixed(2)}, p99 ${first.p99Ms} -> ${last.p99Ms} ms`;
  }
  return rows;
}

if (isMain(import.meta.url)) printTable(await run());
