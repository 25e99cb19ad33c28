/** A bare Fastify (no logger, no hooks) with the routes of every bench/bare/*.ts file; prints LISTENING <port>. */
import Fastify from 'fastify';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const app = Fastify({ logger: false, bodyLimit: 100 * 1024 * 1024 });
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
