/** Starts fieldhub: load config, build the app, listen, shut down gracefully on SIGTERM/SIGINT. */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions } from './app.js';
import { loadConfig, type Config } from './config.js';

export async function startServer(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(config, opts);
  const closer = closeWithGrace(
    { delay: config.server.shutdownGraceSeconds * 1000, logger: app.log },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'fatal error, shutting down');
      else app.log.info({ signal }, 'shutting down: finishing in-flight requests');
      await app.close();
      app.log.info('shutdown complete');
    },
  );
  app.addHook('onClose', async () => closer.uninstall());
  await app.listen({ host: config.server.host, port: config.server.port });
  return app;
}

export async function main(configFile?: string): Promise<void> {
  const config = loadConfig({ file: configFile });
  await startServer(config);
}
