/**
 * Configuration: one JSON file, overlaid by the environment, validated by zod.
 *
 * Order (later wins): schema defaults < config file < legacy variables (KEY_FILE, XML_DIR)
 * < FIELDHUB_HOST / FIELDHUB_PORT / FIELDHUB_DATA_DIR < FIELDHUB_<PATH> (upper snake case,
 * `__` between levels, e.g. FIELDHUB_PATRIOT__SMB__PORT -> patriot.smb.port).
 * Secrets may come from files: every `<name>File` key fills `<name>`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const MB = 1024 * 1024;

const cron = z.string().min(1).refine((s) => s.trim().split(/\s+/).length >= 5 && s.trim().split(/\s+/).length <= 6, {
  message: 'expected a cron expression of 5 or 6 fields',
});
const port = z.number().int().min(0).max(65535);
const secret = z.string().optional();
const secretFile = z.string().min(1).optional();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        /** default request body limit in bytes; routes may override */
        bodyLimitBytes: z.number().int().positive().default(5 * MB),
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
        synchronous: z.enum(['OFF', 'NORMAL', 'FULL', 'EXTRA']).default('FULL'),
        busyTimeoutMs: z.number().int().nonnegative().default(5000),
        /** notifications (sync, patriot import...) older than this are pruned daily; null keeps them */
        notificationRetentionDays: z.number().positive().nullable().default(90),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({ token: secret, tokenFile: secretFile })
      .strict()
      .prefault({}),
    sync: z
      .object({
        enabled: z.boolean().default(true),
        apiToken: secret,
        apiTokenFile: secretFile,
        nodeName: z.string().min(1).max(64).default('fieldhub'),
        encryptionKey: z.string().default(''),
        encryptionKeyFile: secretFile,
        pullNodes: z.array(z.string().url()).default([]),
        pullCron: cron.default('*/5 * * * *'),
        pullTimeoutSeconds: z.number().positive().default(30),
        hubUrl: z.string().url().optional(),
        pushCron: cron.default('*/5 * * * *'),
        bodyLimitBytes: z.number().int().positive().default(50 * MB),
      })
      .strict()
      .prefault({}),
    push: z
      .object({
        enabled: z.boolean().default(true),
        allowUnknownDevices: z.boolean().default(true),
        resultTimeoutSeconds: z.number().positive().default(60),
        maxAttempts: z.number().int().min(1).default(3),
        pollPeriodSeconds: z.number().positive().default(5),
        /** last-seen writes are coalesced and flushed at most this often */
        lastSeenFlushMs: z.number().int().positive().default(2000),
      })
      .strict()
      .prefault({}),
    conduit: z
      .object({
        enabled: z.boolean().default(true),
        throttleSeconds: z.number().nonnegative().default(15),
        maxDatapoints: z.number().int().positive().default(10000),
        maxBodyBytes: z.number().int().positive().default(5 * MB),
        emptyStatus: z.union([z.literal(200), z.literal(204), z.literal(304)]).default(304),
        retentionDays: z.number().positive().nullable().default(null),
        retentionCron: cron.default('17 * * * *'),
        /** an uplink for an unknown networkId creates the device (in the user's default site); false: 404 */
        autoCreateDevices: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    patriot: z
      .object({
        enabled: z.boolean().default(true),
        /** keys.json of the original service; default <dataDir>/keys.json */
        keysFile: z.string().min(1).optional(),
        /** per-client XML output; default <dataDir>/out/clients */
        xmlDir: z.string().min(1).optional(),
        /** how often the keys file is checked for edits (ms) */
        keysReloadMs: z.number().int().min(50).default(1000),
        /** request body limit of the patriot API (bytes) */
        bodyLimitBytes: z.number().int().positive().default(256 * 1024),
        import: z
          .object({
            cron: cron.default('59 * * * *'),
            maxClientsPerRun: z.number().int().positive().default(300),
            maxImportAttempts: z.number().int().positive().default(3),
          })
          .strict()
          .prefault({}),
        smb: z
          .object({
            enabled: z.boolean().default(false),
            transport: z.enum(['smbclient', 'directory']).default('smbclient'),
            host: z.string().optional(),
            port: port.default(445),
            share: z.string().optional(),
            domain: z.string().default('WORKGROUP'),
            username: z.string().optional(),
            password: secret,
            passwordFile: secretFile,
            remoteDir: z.string().default(''),
            directory: z.string().optional(),
            timeoutSeconds: z.number().positive().default(120),
            smbclientPath: z.string().default('smbclient'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The secret/file pairs: the file, when set, fills the secret. */
const SECRET_FILES: Array<[string[], string]> = [
  [['admin'], 'token'],
  [['sync'], 'apiToken'],
  [['sync'], 'encryptionKey'],
  [['patriot', 'smb'], 'password'],
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function setPath(target: Obj, keys: string[], value: unknown): void {
  let cur = target;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** Unwraps default/optional/nullable wrappers of a zod schema (zod 4 internals, read only). */
function unwrap(s: z.ZodType): z.ZodType {
  let cur = s as unknown as { def: { type: string; innerType?: z.ZodType } };
  while (cur.def.innerType && ['default', 'optional', 'nullable', 'prefault', 'catch'].includes(cur.def.type)) {
    cur = cur.def.innerType as unknown as typeof cur;
  }
  return cur as unknown as z.ZodType;
}

/** The leaf schema at a config path, or undefined when the path names no config key. */
function leafAt(keys: string[]): z.ZodType | undefined {
  let cur: z.ZodType = configSchema;
  for (const k of keys) {
    const u = unwrap(cur) as unknown as { def: { type: string }; shape?: Record<string, z.ZodType> };
    if (u.def.type !== 'object' || !u.shape || !(k in u.shape)) return undefined;
    cur = u.shape[k]!;
  }
  return cur;
}

const snakeToCamel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Converts one environment value to what the schema at that path expects. */
function envValue(raw: string, leaf: z.ZodType): unknown {
  const kind = (unwrap(leaf) as unknown as { def: { type: string } }).def.type;
  if (kind === 'string' || kind === 'enum') return raw; // tokens like "0123" stay strings
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}

const SHORTCUTS: Record<string, string[]> = {
  FIELDHUB_HOST: ['server', 'host'],
  FIELDHUB_PORT: ['server', 'port'],
  FIELDHUB_DATA_DIR: ['dataDir'],
};
const NOT_CONFIG = new Set(['FIELDHUB_CONFIG']);

/** Builds the overlay the environment asks for; an unknown FIELDHUB_ key is an error (a typo must not pass silently). */
export function envOverlay(env: NodeJS.ProcessEnv): Obj {
  const overlay: Obj = {};
  const apply = (keys: string[], raw: string, name: string) => {
    const leaf = leafAt(keys);
    if (!leaf) throw new ConfigError(`invalid config: ${name} names no config key (${keys.join('.')})`);
    setPath(overlay, keys, envValue(raw, leaf));
  };
  if (env.KEY_FILE) apply(['patriot', 'keysFile'], env.KEY_FILE, 'KEY_FILE');
  if (env.XML_DIR) apply(['patriot', 'xmlDir'], env.XML_DIR, 'XML_DIR');
  for (const [name, keys] of Object.entries(SHORTCUTS)) {
    const v = env[name];
    if (v !== undefined && v !== '') apply(keys, v, name);
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('FIELDHUB_') || raw === undefined || NOT_CONFIG.has(name) || name in SHORTCUTS) continue;
    const keys = name.slice('FIELDHUB_'.length).split('__').map(snakeToCamel);
    apply(keys, raw, name);
  }
  return overlay;
}

function readSecretFile(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`invalid config: ${field}: cannot read ${file} (${code})`);
  }
}

export interface LoadConfigOptions {
  /** config file path; undefined = FIELDHUB_CONFIG or config/default.json when it exists */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** extra values merged over everything (tests) */
  overrides?: ConfigInput | Obj;
  /** base directory for relative paths; default process.cwd() */
  cwd?: string;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let fileValues: Obj = {};
  const explicit = opts.file ?? env.FIELDHUB_CONFIG;
  const file = explicit ?? path.join(cwd, 'config', 'default.json');
  let text: string | undefined;
  try {
    text = readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (e) {
    if (explicit) throw new ConfigError(`invalid config: cannot read config file ${file} (${(e as NodeJS.ErrnoException).code})`);
  }
  if (text !== undefined) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isObj(parsed)) throw new Error('top level must be an object');
      fileValues = parsed;
    } catch (e) {
      throw new ConfigError(`invalid config: ${file} is not valid JSON: ${(e as Error).message}`);
    }
    delete fileValues.$comment;
  }
  let merged = deepMerge(fileValues, envOverlay(env));
  if (opts.overrides) merged = deepMerge(merged, opts.overrides as Obj);

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    const extra = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
    throw new ConfigError(`invalid config: ${where}: ${issue.message}${extra}`);
  }
  const cfg = result.data;
  for (const [parents, key] of SECRET_FILES) {
    let holder: Obj = cfg as unknown as Obj;
    for (const p of parents) holder = holder[p] as Obj;
    const f = holder[`${key}File`];
    if (typeof f === 'string') holder[key] = readSecretFile(path.resolve(cwd, f), [...parents, `${key}File`].join('.'));
  }
  cfg.dataDir = path.resolve(cwd, cfg.dataDir);
  cfg.patriot.xmlDir = path.resolve(cfg.dataDir, cfg.patriot.xmlDir ?? path.join('out', 'clients'));
  cfg.patriot.keysFile = path.resolve(cwd, cfg.patriot.keysFile ?? path.join(cfg.dataDir, 'keys.json'));
  return cfg;
}
