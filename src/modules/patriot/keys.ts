/**
 * The API keys registry: keys.json of the original service, hot-reloaded.
 *
 * The file is checked every `patriot.keysReloadMs` (stat: mtime, size, inode); an edit that parses
 * and validates replaces the keys at once; one that does not is logged and the last good keys stay
 * in force. A missing file means no keys (every request 401) and is logged as a warning.
 * Expiry (`valid_to`) is checked on every request, so an expired key stops working at that instant.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Log } from '../../core/logger.js';
import { z } from 'zod';
import { safeEqual } from '../../core/auth.js';
import { zodIssueText } from '../../core/errors.js';
import { XML_CHARS } from './schemas.js';

const boolish = z
  .union([z.boolean(), z.enum(['True', 'False', 'true', 'false'])])
  .transform((v) => v === true || v === 'True' || v === 'true');
const xmlText = (max: number) =>
  z.string().max(max).regex(XML_CHARS, { message: 'contains a character XML 1.0 cannot carry' });

/** Per-key XML extras, in the order they are written into each `<Row>` after `<Installer>`. */
export const EXTRA_FIELDS = [
  ['UseGlobCallOuts', 'bool'],
  ['ShowOnCallOuts', 'bool'],
  ['GlobCallOuts', 'text'],
  ['UseGlobCallOuts2', 'bool'],
  ['ShowOnCallOuts2', 'bool'],
  ['GlobCallOuts2', 'text'],
  ['AltLookup', 'bool'],
  ['AltAlarmNo', 'text'],
  ['ConvertType', 'text'],
  ['SIGINTERPRET', 'text'],
] as const;

const extras: Record<string, z.ZodType> = Object.fromEntries(
  EXTRA_FIELDS.map(([n, t]) => [n, (t === 'bool' ? boolish : xmlText(100)).optional()]),
);

export const keyEntry = z
  .object({
    key_name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, {
      message: 'key_name: 1-64 of A-Z a-z 0-9 _ . - (it names a folder)',
    }),
    key: z.string().min(1).max(512),
    enabled: boolish.default(true),
    valid_to: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'valid_to: expected an ISO date/time' })
      .nullable()
      .optional(),
    port: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, { message: 'port: 1-32 of A-Z a-z 0-9 _ -' }),
    installer_name: xmlText(100).default(''),
    installer_email: xmlText(254).default(''),
    ...extras,
    ClientGroupings: z
      .array(
        z.object({
          Description: xmlText(100),
          GroupingTypeDescription: xmlText(100),
          GroupingAllowMultiple: boolish.default(true),
        }),
      )
      .default([]),
  })
  .passthrough();

type ExtraName = (typeof EXTRA_FIELDS)[number][0];

export interface ApiKey {
  key_name: string;
  key: string;
  enabled: boolean;
  valid_to?: string | null;
  /** epoch ms, or null = never expires */
  validToMs: number | null;
  port: string;
  installer_name: string;
  installer_email: string;
  ClientGroupings: Array<{ Description: string; GroupingTypeDescription: string; GroupingAllowMultiple: boolean }>;
  /** the per-key XML extras that are set (booleans already converted) */
  extras: Partial<Record<ExtraName, boolean | string>>;
}

export const keysFileSchema = z.array(keyEntry).superRefine((keys, ctx) => {
  for (const field of ['key_name', 'key', 'port'] as const) {
    const seen = new Set<string>();
    keys.forEach((k, i) => {
      const v = field === 'key_name' ? k[field].toLowerCase() : k[field];
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [i, field], message: `duplicate ${field}` });
      seen.add(v);
    });
  }
});

export type AuthResult =
  { ok: true; key: ApiKey } | { ok: false; reason: 'missing' | 'invalid' | 'disabled' | 'expired' };

/** Parses the text of a keys file; throws an Error naming the first problem (never a key). */
export function parseKeys(text: string): ApiKey[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // V8's message quotes the text around the error, which may hold a key: report the position only
    const pos = /position (\d+)/.exec((e as Error).message);
    // eslint-disable-next-line preserve-caught-error -- the cause quotes the file's text, which may hold a key
    throw new Error(`not valid JSON${pos ? ` (at position ${pos[1]})` : ''}`);
  }
  const r = keysFileSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`entry ${zodIssueText(r.error)}`);
  }
  return r.data.map((raw) => {
    const k = raw as Record<string, unknown> & z.output<typeof keyEntry>;
    const extras: ApiKey['extras'] = {};
    for (const [n] of EXTRA_FIELDS) if (k[n] !== undefined) extras[n] = k[n] as boolean | string;
    return {
      key_name: k.key_name,
      key: k.key,
      enabled: k.enabled,
      valid_to: k.valid_to,
      validToMs: k.valid_to ? Date.parse(k.valid_to) : null,
      port: k.port,
      installer_name: k.installer_name,
      installer_email: k.installer_email,
      ClientGroupings: k.ClientGroupings,
      extras,
    };
  });
}

export class KeysRegistry {
  private keys: ApiKey[] = [];
  private byName = new Map<string, ApiKey>();
  private byPort = new Map<string, ApiKey>();
  private sig = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly log: Log,
  ) {
    this.check();
  }

  /** Re-reads the file when it changed since the last check. */
  check(): void {
    let sig: string;
    try {
      const s = statSync(this.file);
      sig = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        if (this.sig !== 'error')
          this.log.error(
            { file: this.file, code: (e as NodeJS.ErrnoException).code },
            'patriot: cannot read keys file; keeping the last good keys',
          );
        this.sig = 'error';
        return;
      }
      if (this.sig !== 'missing') {
        this.log.warn({ file: this.file }, 'patriot: keys file missing: no API keys, every request is refused (401)');
        this.set([]);
        this.sig = 'missing';
      }
      return;
    }
    if (sig === this.sig) return;
    this.sig = sig;
    try {
      const keys = parseKeys(readFileSync(this.file, 'utf8'));
      this.set(keys);
      this.log.info({ file: this.file, keys: keys.map((k) => k.key_name) }, 'patriot: keys loaded');
    } catch (e) {
      this.log.error(
        { file: this.file, problem: (e as Error).message },
        'patriot: keys file invalid; keeping the last good keys',
      );
    }
  }

  private set(keys: ApiKey[]): void {
    this.keys = keys;
    this.byName = new Map(keys.map((k) => [k.key_name, k]));
    this.byPort = new Map(keys.map((k) => [k.port, k]));
  }

  /** Polls the file every `ms` until stop(). */
  watch(ms: number): void {
    this.stop();
    this.timer = setInterval(() => this.check(), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  list(): readonly ApiKey[] {
    return this.keys;
  }

  get(keyName: string): ApiKey | undefined {
    return this.byName.get(keyName);
  }

  getByPort(port: string): ApiKey | undefined {
    return this.byPort.get(port);
  }

  /** Finds the key a bearer token names. Every key is compared in constant time (no early exit). */
  authenticate(token: string | undefined, now = Date.now()): AuthResult {
    if (!token) return { ok: false, reason: 'missing' };
    let found: ApiKey | undefined;
    for (const k of this.keys) if (safeEqual(token, k.key) && !found) found = k;
    if (!found) return { ok: false, reason: 'invalid' };
    if (!found.enabled) return { ok: false, reason: 'disabled' };
    if (found.validToMs !== null && found.validToMs <= now) return { ok: false, reason: 'expired' };
    return { ok: true, key: found };
  }
}
