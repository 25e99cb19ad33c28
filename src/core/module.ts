/**
 * The contract between the core and a module. A module is an encapsulated Fastify plugin plus
 * its migrations and CLI commands; it reaches the shared parts through the app's decorations
 * (`app.config`, `app.store`, `app.scheduler`, `app.metrics`) and never imports another module.
 */
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config, ModuleConfigs, ModuleConfigSpec } from './config.js';
import type { Migration, Store } from './db.js';
import type { Metrics } from './metrics.js';
import type { PgStore } from './pg.js';
import type { Scheduler } from './scheduler.js';
import type { Sessions } from './session.js';
import type { WriteRunner } from './writer.js';

/** The modules' names: the keys of their config sections (core names none of them). */
export type ModuleName = Extract<keyof ModuleConfigs, string>;

export interface CliContext {
  config: Config;
  /** the SQLite store (store.driver "sqlite"; reading it on "postgres" throws) */
  store: Store;
  /** the PostgreSQL store when store.driver is "postgres", else null/absent */
  pg?: PgStore | null;
  log: Logger;
  /** where command output goes (stdout in the CLI, a buffer in tests) */
  out: (line: string) => void;
}

export interface CliCommand {
  /** e.g. "enqueue DEVICE_ID ENDPOINT [--body JSON]" */
  usage: string;
  summary: string;
  /** returns the process exit code */
  run(args: string[], ctx: CliContext): Promise<number> | number;
}

export interface FieldhubModule {
  name: ModuleName;
  /** its config section: schema, secret-file keys, legacy environment names */
  config: ModuleConfigSpec;
  migrations: readonly Migration[];
  /** the same versions in PostgreSQL's dialect (store.driver "postgres"); a module without them cannot run there */
  migrationsPg?: readonly Migration[];
  /** registered at the root, encapsulated; registers its own prefixed scopes and error formats */
  plugin: FastifyPluginAsync;
  /** `fieldhub <module> <command> ...` */
  commands?: Record<string, CliCommand>;
  /** the file (URL href, see `moduleFile`) exporting `writes(db)`: the write ops the writer thread runs */
  writes?: string;
  /** the same ops on PostgreSQL: the file exporting `writesPg()` (docs/postgres.md) */
  writesPg?: string;
  /**
   * `fieldhub store migrate-to-postgres`: copies the files this module owns under the data dir into
   * its PostgreSQL tables (re-runnable: the same file twice is one row), after the rows of its tables
   * were copied. Returns how many files and a checksum over them that `verifyFilesPg` recomputes.
   */
  copyFilesToPg?: (dataDir: string, pg: PgStore) => Promise<{ files: number; checksum: string }>;
  /** the count and checksum of the files held in PostgreSQL, computed as copyFilesToPg's */
  verifyFilesPg?: (pg: PgStore) => Promise<{ files: number; checksum: string }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    /** the SQLite store (store.driver "sqlite"; reading it on "postgres" throws: use app.pg) */
    store: Store;
    /** the PostgreSQL store when store.driver is "postgres", else null */
    pg: PgStore | null;
    scheduler: Scheduler;
    metrics: Metrics;
    /** the writer thread (src/core/writer.ts): `await app.writer.run('module.op', args)` answers after COMMIT */
    writer: WriteRunner;
    /** console sessions (src/console signs in; the admin guard accepts them) */
    sessions: Sessions;
    /** onRequest hook that requires the admin bearer token or a console session (+ CSRF) */
    requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  }
}

export function defineModule(m: FieldhubModule): FieldhubModule {
  return m;
}

/**
 * The URL of a file beside the calling module (`moduleFile(import.meta.url, 'writes')`), as the
 * running code has it: `.ts` when run from source (tests, bench, tsx), `.js` from dist/.
 */
export function moduleFile(callerUrl: string, name: string): string {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl).href;
}

/** A Fastify instance whose route schemas are zod schemas (validation, types and OpenAPI from one source). */
export type ZodApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export type { FastifyInstance };
