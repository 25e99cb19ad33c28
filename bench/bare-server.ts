/** A bare Fastify (no logger, no hooks) with the routes of every bench/bare/*.ts file; prints LISTENING <port>. */
import Fastify from 'fastify';
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';

const app = Fastify({ logger: false, bodyLimit: 100 * 1024 * 1024 });
// the same event-loop delay gauge as fieldhub's /metrics, so that the bench reads both alike
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
app.get('/metrics', async (_req, reply) => {
  const has = eld.count > 0;
  const line = (q: string, ns: number) => `fieldhub_event_loop_delay_seconds{quantile="${q}"} ${has ? ns / 1e9 : 0}`;
  const body = [line('0.5', eld.percentile(50)), line('0.99', eld.percentile(99)), line('max', eld.max)].join('\n');
  eld.reset();
  return reply.type('text/plain').send(body + '\n');
});
const dir = path.join(import.meta.dirname, 'bare');
for (const f of readdirSync(dir)
  .filter((n) => n.endsWith('.ts'))
  .sort()) {
  const mod = (await import(path.join(dir, f))) as { default: (app: typeof Fastify.prototype) => Promise<void> };
  await app.register(mod.default as never);
}
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
