/**
 * `npm run bench`: runs every bench/*.ts that exports `run()`, prints one table, writes
 * bench/results.json and bench/results.svg (the ratio of each workload to its bare route).
 *   npm run bench                 all benches
 *   npm run bench -- push conduit only these
 *   npm run bench -- --chart      re-draw results.svg from results.json
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pinning, printTable, type BenchRow } from './lib.js';

const dir = import.meta.dirname;
const NOT_BENCHES = new Set(['lib', 'run', 'fieldhub-server', 'bare-server', 'chart', 'devices', 'ab', 'patriot-ab']);

function svgChart(rows: BenchRow[]): string {
  const withRatio = rows.filter((r) => typeof r.ratio === 'number');
  const barH = 22;
  const gap = 8;
  const labelW = Math.max(
    200,
    Math.ceil(Math.max(...withRatio.map((r) => `${r.bench}: ${r.workload}`.length)) * 6.8) + 20,
  );
  const plotW = 480;
  const maxRatio = Math.max(1.2, ...withRatio.map((r) => r.ratio!));
  const h = 60 + withRatio.length * (barH + gap);
  const x = (v: number) => labelW + (v / maxRatio) * plotW;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const bars = withRatio
    .map((r, i) => {
      const y = 40 + i * (barH + gap);
      const color = r.ratio! >= 0.8 ? '#2f855a' : r.ratio! >= 0.5 ? '#b7791f' : '#c53030';
      return [
        `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(`${r.bench}: ${r.workload}`)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${(x(r.ratio!) - labelW).toFixed(1)}" height="${barH}" fill="${color}"/>`,
        `<text x="${(x(r.ratio!) + 6).toFixed(1)}" y="${y + 15}">${r.ratio!.toFixed(2)}</text>`,
      ].join('');
    })
    .join('\n');
  const one = x(1).toFixed(1);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 80}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14" font-weight="bold">fieldhub: throughput relative to a bare Fastify route of the same shape (1.0 = as fast)</text>
${bars}
<line x1="${one}" y1="32" x2="${one}" y2="${h - 10}" stroke="#333" stroke-dasharray="4 3"/>
<text x="${one}" y="${h - 2}" text-anchor="middle">1.0</text>
</svg>
`;
}

if (process.argv[2] === '--chart') {
  // re-draw the chart from the last results.json
  const { rows } = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as { rows: BenchRow[] };
  await writeFile(path.join(dir, 'results.svg'), svgChart(rows));
  process.exit(0);
}

const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !NOT_BENCHES.has(f.replace(/\.ts$/, '')))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, '')))
  .sort();
const rows: BenchRow[] = [];
const started = Date.now();
const loadBefore = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
process.stderr.write(`pinning: ${pinning.describe}; load average ${loadBefore}\n`);
for (const f of files) {
  const mod = (await import(path.join(dir, f))) as { run?: () => Promise<BenchRow[]> };
  if (typeof mod.run !== 'function') continue;
  const t0 = Date.now();
  process.stderr.write(`bench ${f} ...\n`);
  try {
    const r = await mod.run();
    rows.push(...r);
    process.stderr.write(`bench ${f}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  } catch (err) {
    process.stderr.write(`bench ${f} failed: ${(err as Error).stack ?? String(err)}\n`);
    rows.push({
      bench: f.replace(/\.ts$/, ''),
      workload: 'FAILED',
      rate: 0,
      unit: '',
      note: (err as Error).message.slice(0, 120),
    });
  }
}
printTable(rows);
const loadAfter = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
console.log(`\npinning: ${pinning.describe}; load average before ${loadBefore}, after ${loadAfter}`);
const meta = {
  pinning: pinning.describe,
  loadAverageBefore: loadBefore,
  loadAverageAfter: loadAfter,
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  totalSeconds: Math.round((Date.now() - started) / 1000),
};
if (only.length === 0) {
  await writeFile(path.join(dir, 'results.json'), JSON.stringify({ meta, rows }, null, 2) + '\n');
  await writeFile(path.join(dir, 'results.svg'), svgChart(rows));
  console.log(`\nwrote bench/results.json and bench/results.svg (${meta.totalSeconds} s)`);
}
