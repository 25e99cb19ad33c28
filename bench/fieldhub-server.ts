/** The real fieldhub for benchmarks: config from FIELDHUB_BENCH_CONFIG (JSON), prints LISTENING <port>. */
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/main.js';

const overrides = JSON.parse(process.env.FIELDHUB_BENCH_CONFIG ?? '{}') as Record<string, unknown>;
const config = loadConfig({
  file: new URL('../test/helpers/empty-config.json', import.meta.url).pathname,
  env: {},
  overrides,
});
const app = await startServer(config);
const addr = app.server.address();
process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
