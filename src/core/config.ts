/**
 * Configuration: one JSON file, overlaid by the environment, validated by zod. Core owns the
 * `server`, `dataDir`, `store` and `admin` sections; each module owns its own section (its
 * config.ts: schema, secret-file keys, legacy variables) and this file composes them.
 *
 * Order (later wins): schema defaults < config file < a module's legacy variables
 * < FIELDHUB_HOST / FIELDHUB_PORT / FIELDHUB_DATA_DIR < FIELDHUB_<PATH> (see config-env.ts).
 * Secrets may come from files: each declared `<name>File` key fills `<name>`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, envOverlay, isObj, type Obj } from './config-env.js';
import { zodIssueText } from './errors.js';

export { ConfigError };

export const MB = 1024 * 1024;

const cronFields = (s: string) => s.trim().split(/\s+/).length;
export const cron = z
  .string()
  .min(1)
  .refine((s) => cronFields(s) >= 5 && cronFields(s) <= 6, { message: 'expected a cron expression of 5 or 6 fields' });
export const port = z.number().int().min(0).max(65535);
export const secret = z.string().optional();
export const secretFile = z.string().min(1).optional();

const coreSections = {
  server: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8080),
      /** default request body limit in bytes; routes may override */
      bodyLimitBytes: z
        .number()
        .int()
        .positive()
        .default(5 * MB),
      /** false, true, or a comma-separated list of trusted proxy addresses/CIDRs */
      trustProxy: z.union([z.boolean(), z.string()]).default(false),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** seconds to wait for in-flight requests on shutdown before forcing exit */
      shutdownGraceSeconds: z.number().positive().default(25),
    })
    .strict()
    .prefault({}),
  dataDir: z.string().min(1).default('./data'),
  store: z
    .object({
      /** "sqlite" (default: one embedded file in dataDir) or "postgres" (several replicas on one database, docs/postgres.md) */
      driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
      /** postgres://user:password@host:port/db (secret: never logged); or urlFile */
      url: secret,
      urlFile: secretFile,
      /** the PostgreSQL pool of this replica */
      pool: z
        .object({
          max: z.number().int().positive().max(1000).default(10),
          /** ms to wait for a connection before the request answers 503 + Retry-After */
          connectionTimeoutMs: z.number().int().positive().default(5000),
          /** ms a statement may run before PostgreSQL cancels it */
          statementTimeoutMs: z.number().int().positive().default(30_000),
        })
        .strict()
        .prefault({}),
      synchronous: z.enum(['OFF', 'NORMAL', 'FULL', 'EXTRA']).default('FULL'),
      busyTimeoutMs: z.number().int().nonnegative().default(5000),
      /** notifications (sync, patriot import...) older than this are pruned daily; null keeps them */
      notificationRetentionDays: z.number().positive().nullable().default(90),
    })
    .strict()
    .prefault({}),
  admin: z.object({ token: secret, tokenFile: secretFile }).strict().prefault({}),
  /** the operator console at /console (src/console) */
  console: z
    .object({
      enabled: z.boolean().default(true),
      /** a session cookie expires this long after sign-in */
      sessionHours: z
        .number()
        .positive()
        .max(24 * 30)
        .default(12),
      /** failed sign-ins allowed per client address and window before 429 */
      maxFailedSignIns: z.number().int().positive().default(5),
      failedSignInWindowSeconds: z.number().int().positive().default(300),
    })
    .strict()
    .prefault({}),
};
const coreSchema = z.object(coreSections).strict();
const CORE_SECRET_FILES: ReadonlyArray<readonly string[]> = [
  ['admin', 'token'],
  ['store', 'url'],
];

/** Each module adds its resolved section here (declaration merging in its config.ts). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the modules' declaration merging
export interface ModuleConfigs {}
/** Each module adds what its section accepts (for tests and overrides). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the modules' declaration merging
export interface ModuleConfigInputs {}

export type CoreConfig = z.output<typeof coreSchema>;
/** The resolved configuration: core sections plus every module's resolved section. */
export type Config = CoreConfig & ModuleConfigs;
export type ConfigInput = z.input<typeof coreSchema> & ModuleConfigInputs;

/** What a module declares about its config section. */
export interface ModuleConfigSpec<N extends string = string, S extends z.ZodType = z.ZodType, R = unknown> {
  /** the section's key (the module's name) */
  name: N;
  /** the section's schema; it must default to a valid value when the section is absent */
  schema: S;
  /** paths inside the section of secrets that may come from a file: ['smb', 'password'] reads smb.passwordFile */
  secretFiles?: ReadonlyArray<readonly string[]>;
  /** legacy environment variables: name -> path inside the section */
  legacyEnv?: Readonly<Record<string, readonly string[]>>;
  /** fills the section's defaulted paths (absolute, never optional) */
  resolve(section: z.output<S>, paths: { cwd: string; dataDir: string }): R;
}

export function defineModuleConfig<N extends string, S extends z.ZodType, R>(
  spec: ModuleConfigSpec<N, S, R>,
): ModuleConfigSpec<N, S, R> {
  return spec;
}

/** The composed schema: core sections, then one section per module, in the order given. */
export function composeConfigSchema(modules: readonly ModuleConfigSpec[]): z.ZodObject {
  const shape: Record<string, z.ZodType> = { ...coreSchema.shape };
  for (const m of modules) {
    if (m.name in shape) throw new Error(`config section ${m.name} declared twice`);
    shape[m.name] = m.schema;
  }
  return z.object(shape).strict();
}

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function readSecretFile(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`invalid config: ${field}: cannot read ${file} (${code})`);
  }
}

/** Fills `<key>` from `<key>File` for each declared secret path (relative files resolve against cwd). */
function fillSecrets(cfg: Obj, paths: ReadonlyArray<readonly string[]>, cwd: string): void {
  for (const p of paths) {
    let holder: Obj = cfg;
    for (const k of p.slice(0, -1)) holder = holder[k] as Obj;
    const key = p[p.length - 1]!;
    const f = holder[`${key}File`];
    if (typeof f === 'string')
      holder[key] = readSecretFile(path.resolve(cwd, f), [...p.slice(0, -1), `${key}File`].join('.'));
  }
}

function readConfigFile(file: string, explicit: boolean, cwd: string): Obj {
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (e) {
    if (!explicit) return {};
    throw new ConfigError(`invalid config: cannot read config file ${file} (${(e as NodeJS.ErrnoException).code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    if (!isObj(parsed)) throw new Error('top level must be an object');
  } catch (e) {
    throw new ConfigError(`invalid config: ${file} is not valid JSON: ${(e as Error).message}`);
  }
  delete parsed.$comment;
  return parsed;
}

export interface LoadConfigOptions {
  /** the modules whose sections the config has */
  modules: readonly ModuleConfigSpec[];
  /** config file path; undefined = FIELDHUB_CONFIG or config/default.json when it exists */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** extra values merged over everything (tests) */
  overrides?: ConfigInput | Obj;
  /** base directory for relative paths; default process.cwd() */
  cwd?: string;
}

export function loadConfig(opts: LoadConfigOptions): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const schema = composeConfigSchema(opts.modules);
  const explicit = opts.file ?? env.FIELDHUB_CONFIG;
  const fileValues = readConfigFile(explicit ?? path.join(cwd, 'config', 'default.json'), explicit !== undefined, cwd);
  let merged = deepMerge(fileValues, envOverlay(env, schema, opts.modules));
  if (opts.overrides) merged = deepMerge(merged, opts.overrides as Obj);

  const result = schema.safeParse(merged);
  if (!result.success) throw new ConfigError(`invalid config: ${zodIssueText(result.error)}`);
  const cfg = result.data as Obj & CoreConfig;
  fillSecrets(cfg, CORE_SECRET_FILES, cwd);
  for (const m of opts.modules)
    fillSecrets(
      cfg,
      (m.secretFiles ?? []).map((p) => [m.name, ...p]),
      cwd,
    );
  if (cfg.store.driver === 'postgres' && !cfg.store.url)
    throw new ConfigError('invalid config: store.url (or store.urlFile) is required when store.driver is "postgres"');
  cfg.dataDir = path.resolve(cwd, cfg.dataDir);
  for (const m of opts.modules) cfg[m.name] = m.resolve(cfg[m.name], { cwd, dataDir: cfg.dataDir });
  return cfg as unknown as Config;
}
