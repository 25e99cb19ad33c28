/**
 * The real fieldhub server for the resilience suite: config overrides from FIELDHUB_RESILIENCE_CONFIG
 * (JSON, over the schema defaults; no config file, no other environment), logs on stdout,
 * prints `LISTENING <port>` once it listens.
 */
import { loadConfig } from '../../../src/config.js';
import { startServer } from '../../../src/main.js';

// fault injection: frequent garbage collections (node --expose-gc), to catch timers and signals that a GC drops
const gcMs = Number(process.env.FIELDHUB_RESILIENCE_GC_MS ?? 0);
const gc = (globalThis as { gc?: () => void }).gc;
if (gcMs > 0 && gc) setInterval(gc, gcMs).unref();

const overrides = JSON.parse(process.env.FIELDHUB_RESILIENCE_CONFIG ?? '{}') as Record<string, unknown>;
const config = loadConfig({
  file: new URL('../../helpers/empty-config.json', import.meta.url).pathname,
  env: {},
  overrides,
});
const app = await startServer(config);
const addr = app.server.address();
process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
