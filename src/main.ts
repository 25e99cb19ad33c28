/** Starts fieldhub: load config, build the app, listen, shut down gracefully on SIGTERM/SIGINT. */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions } from './app.js';
import { ensureAdminToken } from './core/admin-token.js';
import { loadConfig, type Config } from './config.js';

export async function startServer(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(config, opts);
  const tokenFile = ensureAdminToken(config, app.log);
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
  if (config.console.enabled) {
    const a = app.server.address();
    const port = a && typeof a === 'object' ? a.port : config.server.port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const signIn = tokenFile ? `sign in with the token in ${tokenFile}` : 'sign in with admin.token';
    app.log.info(
      { url: `http://${host}:${port}/console`, tokenFile },
      `operator console at http://${host}:${port}/console: ${signIn}`,
    );
  }
  return app;
}

export async function main(configFile?: string): Promise<void> {
  const config = loadConfig({ file: configFile });
  await startServer(config);
}
