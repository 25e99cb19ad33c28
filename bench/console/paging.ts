/**
 * How fast the console's server-side pages answer on a big store: 10,000 push devices and
 * 100,000 Patriot clients. `node --import tsx bench/console/paging.ts` prints the median and p95
 * of each request over 30 runs (app.inject: the route's own cost, no network).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, openStore } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

const DEVICES = 10_000;
const CLIENTS = 100_000;
const dataDir = mkdtempSync(path.join(tmpdir(), 'fieldhub-console-bench-'));
writeFileSync(path.join(dataDir, 'none.json'), '{}');
writeFileSync(
  path.join(dataDir, 'keys.json'),
  JSON.stringify([
    {
      key_name: 'Alarm24',
      key: 'k'.repeat(24),
      enabled: true,
      port: 'BASE11',
      installer_name: 'I',
      installer_email: 'i@x.no',
    },
  ]),
);
const config = loadConfig({
  file: path.join(dataDir, 'none.json'),
  env: {},
  overrides: {
    dataDir,
    server: { logLevel: 'warn' },
    admin: { token: 'bench-admin-token' },
    store: { synchronous: 'OFF' },
  },
});

const store = openStore(config);
const now = Date.now();
store.db.transaction(() => {
  const dev = store.db.prepare(
    "INSERT INTO push_devices (device_id, registered_at, registered_by, last_seen_at, last_address) VALUES (?, ?, 'poll', ?, ?)",
  );
  for (let i = 1; i <= DEVICES; i++)
    dev.run(
      String(1000 + i),
      new Date(now).toISOString(),
      new Date(now - (i % 600) * 1000).toISOString(),
      `10.0.${i >> 8}.${i & 255}`,
    );
  const c = store.db.prepare(
    "INSERT INTO patriot_clients (key_name, client_id, info, created_at, updated_at) VALUES ('Alarm24', ?, ?, ?, ?)",
  );
  const s = store.db.prepare(
    "INSERT INTO patriot_client_state (key_name, client_id, status, attempts, xml_version, updated_at) VALUES ('Alarm24', ?, ?, 0, 1, ?)",
  );
  // no 'changed' rows: start-up would rewrite the XML file of every one (repairAfterCrash), not what is measured here
  const states = ['imported', 'pending_import', 'imported', 'import_failed'];
  for (let i = 1; i <= CLIENTS; i++) {
    const t = new Date(now - i * 1000).toISOString();
    c.run(i, JSON.stringify({ Name: `Client number ${i}` }), t, t);
    s.run(i, states[i % 4], t);
  }
})();
store.close();

const app = await buildApp(config, { startScheduler: false, defaultMetrics: false });
await app.ready();
const auth = { authorization: 'Bearer bench-admin-token' };
const urls = [
  '/admin/push/health',
  '/admin/push/devices?limit=50&offset=0',
  '/admin/push/devices?limit=50&offset=9950&sort=lastSeen&order=desc',
  '/admin/push/devices?limit=50&q=10.0.3',
  '/admin/patriot/health',
  '/admin/patriot/keys',
  '/admin/patriot/keys/Alarm24/clients?limit=50&offset=0',
  '/admin/patriot/keys/Alarm24/clients?limit=50&offset=99950',
  '/admin/patriot/keys/Alarm24/clients?limit=50&status=import_failed&offset=20000',
  '/admin/patriot/keys/Alarm24/clients?limit=50&q=number%2099',
];
console.log(`${DEVICES} push devices, ${CLIENTS} patriot clients; 30 runs each`);
for (const url of urls) {
  const ms: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = process.hrtime.bigint();
    const r = await app.inject({ url, headers: auth });
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
  }
  ms.sort((a, b) => a - b);
  console.log(`${url.padEnd(80)} median ${ms[15]!.toFixed(1)} ms  p95 ${ms[28]!.toFixed(1)} ms`);
}
await app.close();
rmSync(dataDir, { recursive: true, force: true });
