/** The app's pino options: level from the config, secrets redacted, request lines without query secrets. */
import type { FastifyServerOptions } from 'fastify';
import type { BaseLogger, DestinationStream } from 'pino';
import { REDACT_PATHS, redactUrl } from './auth.js';
import type { Config } from './config.js';

export function loggerOptions(config: Config, stream?: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level: config.server.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip ?? req.socket?.remoteAddress,
      }),
    },
    ...(stream ? { stream } : {}),
  };
}

/** The logger a service, store or job takes: pino's level methods (Fastify's and pino's loggers both fit; no Fastify type). */
export type Log = Pick<BaseLogger, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'>;
