/**
 * The environment overlay of the config. FIELDHUB_<PATH> names a config key in upper snake case
 * with `__` between levels (FIELDHUB_PATRIOT__SMB__PORT -> patriot.smb.port); FIELDHUB_HOST,
 * FIELDHUB_PORT and FIELDHUB_DATA_DIR are shortcuts; a module may declare legacy names (KEY_FILE).
 * The keys and their types come from the composed schema's JSON Schema (zod's public
 * `z.toJSONSchema`), so a string key takes the raw text and any other key a JSON value.
 */
import { z } from 'zod';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
}

/** A configuration that cannot be used; its message is one line naming the field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function setPath(target: Obj, keys: string[], value: unknown): void {
  let cur = target;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** The JSON Schema of the key at `keys`, or undefined when the path names no config key. */
function leafAt(root: JsonSchema, keys: string[]): JsonSchema | undefined {
  let cur: JsonSchema | undefined = root;
  for (const k of keys) {
    cur = cur?.properties && Object.hasOwn(cur.properties, k) ? cur.properties[k] : undefined;
    if (!cur) return undefined;
  }
  return cur;
}

/** Converts one environment value to what the key expects: strings stay text (a token "0123" too). */
function envValue(raw: string, leaf: JsonSchema): unknown {
  if (leaf.type === 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

const snakeToCamel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

const SHORTCUTS: Record<string, string[]> = {
  FIELDHUB_HOST: ['server', 'host'],
  FIELDHUB_PORT: ['server', 'port'],
  FIELDHUB_DATA_DIR: ['dataDir'],
};
const NOT_CONFIG = new Set(['FIELDHUB_CONFIG']);

/** Builds the overlay the environment asks for; an unknown FIELDHUB_ key is an error. */
export function envOverlay(
  env: NodeJS.ProcessEnv,
  schema: z.ZodType,
  modules: ReadonlyArray<{ name: string; legacyEnv?: Readonly<Record<string, readonly string[]>> }>,
): Obj {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const overlay: Obj = {};
  const apply = (keys: string[], raw: string, name: string) => {
    const leaf = leafAt(root, keys);
    if (!leaf) throw new ConfigError(`invalid config: ${name} names no config key (${keys.join('.')})`);
    setPath(overlay, keys, envValue(raw, leaf));
  };
  for (const m of modules) {
    for (const [name, keys] of Object.entries(m.legacyEnv ?? {})) {
      const v = env[name];
      if (v) apply([m.name, ...keys], v, name);
    }
  }
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
