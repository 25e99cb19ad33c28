/** Helpers of the sync tests: apps with a token, the plugin folder, Debian's python with requests + Cryptodome. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeApp, type TestApp } from '../../helpers/app.js';
import sync from '../../../src/modules/sync/index.js';
import { fileNames } from '../../../src/modules/sync/names.js';
import { decodePayload } from '../../../src/modules/sync/payload.js';
import type { ReceivedRow } from '../../../src/modules/sync/store.js';

export const TOKEN = 'sync-token-123';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export async function syncApp(
  sync_: Record<string, unknown> = {},
  opts: { dataDir?: string; startScheduler?: boolean } = {},
): Promise<TestApp> {
  return makeApp({ sync: { apiToken: TOKEN, ...sync_ } }, { modules: [sync], ...opts });
}

export function pluginDir(t: TestApp): string {
  return path.join(t.config.dataDir, 'log', 'plugins');
}

/**
 * The payload files: on SQLite those under log/plugins; on PostgreSQL the names the payloads held in
 * sync_payloads have in that layout (received: encoded, processed: processed_..., failed: failed_...).
 */
export async function files(t: TestApp): Promise<string[]> {
  if (t.app.pg) return (await heldPayloads(t)).map((p) => p.file).sort();
  const d = pluginDir(t);
  return existsSync(d)
    ? readdirSync(d)
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
}

async function heldPayloads(t: TestApp) {
  const r = await t.app.pg!.query<
    { name: string; data: Buffer } & Pick<ReceivedRow, 'plugin' | 'node' | 'seq' | 'status' | 'source'>
  >(
    `SELECT p.name, p.data, r.plugin, r.node, r.seq, r.status, r.source
     FROM sync_payloads p JOIN sync_received r ON r.id = p.id WHERE r.status <> 'lost'`,
  );
  return r.rows.map((p) => {
    const f = fileNames(p.plugin, p.node, p.seq);
    const file = p.name.startsWith('processed_')
      ? p.name
      : p.status === 'processed'
        ? f.processed
        : p.status === 'failed'
          ? f.failed
          : f.encoded;
    return { ...p, file };
  });
}

/** The text of a payload file (on PostgreSQL: what the file would hold; processed_... is the decoded text). */
export async function fileText(t: TestApp, file: string): Promise<string> {
  if (!t.app.pg) return readFileSync(path.join(pluginDir(t), file), 'utf8');
  const p = (await heldPayloads(t)).find((x) => x.file === file);
  if (!p) throw new Error(`no payload ${file}`);
  const raw = p.data.toString('utf8');
  if (!file.startsWith('processed_') || p.name.startsWith('processed_')) return raw;
  return decodePayload(raw, { plugin: p.plugin, passphrase: t.config.sync.encryptionKey, source: p.source }).text;
}

/**
 * Rows of one SQL statement on either driver (`?` placeholders); on PostgreSQL BIGINT (COUNT, ids)
 * comes back as a number, as from SQLite.
 */
export async function sql<T = Record<string, unknown>>(t: TestApp, query: string, ...params: unknown[]): Promise<T[]> {
  if (!t.app.pg) {
    const st = t.app.store.db.prepare(query);
    if (st.reader) return st.all(...params) as T[];
    st.run(...params);
    return [];
  }
  let i = 0;
  const r = await t.app.pg.query(
    query.replace(/\?/g, () => `$${++i}`),
    params,
  );
  const big = r.fields.filter((f) => f.dataTypeID === 20).map((f) => f.name);
  return r.rows.map((row: Record<string, unknown>) => {
    for (const k of big) if (row[k] !== null) row[k] = Number(row[k]);
    return row as T;
  });
}

/** A module's notifications, newest first, on either driver. */
export async function notifications(t: TestApp, module = 'sync') {
  return t.app.pg ? t.app.pg.listNotifications(module) : t.app.store.listNotifications(module);
}

/** Records a notification as core does, on either driver. */
export async function notify(t: TestApp, module: string, level: 'info' | 'alert', text: string): Promise<void> {
  if (t.app.pg) await t.app.pg.notify(module, level, text);
  else t.app.store.notify(module, level, text);
}

/** Runs the admin trigger that processes stored payloads and waits until the queue is empty. */
export async function processNow(t: TestApp): Promise<void> {
  const r = await t.app.inject({
    method: 'POST',
    url: '/admin/sync/process',
    headers: { authorization: 'Bearer admin-secret-token' },
  });
  if (r.statusCode !== 200) throw new Error(`process: ${r.statusCode} ${r.body}`);
}

export function form(fields: Record<string, string>): { payload: string; headers: Record<string, string> } {
  return {
    payload: new URLSearchParams(fields).toString(),
    headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
  };
}

export function device(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const h = (n: number) => n.toString(16).padStart(2, '0').toUpperCase();
  return {
    devMac: `AA:BB:CC:${h((i >> 16) & 255)}:${h((i >> 8) & 255)}:${h(i & 255)}`,
    devName: `Device ${i}`,
    devVendor: 'Vendor A',
    devLastIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    devPresentLastScan: 1,
    devLastConnection: '2025-08-24 10:15:00',
    devFirstConnection: '2025-08-01 09:00:00',
    devGUID: `guid-${i}`,
    devComments: '',
    ...extra,
  };
}

export const PY = '/usr/bin/python3';

/** null when Debian's python with requests and Cryptodome is available, else why not. */
export function pythonMissing(): string | null {
  try {
    execFileSync(PY, ['-c', 'import requests, Cryptodome'], { stdio: 'pipe' });
    return null;
  } catch {
    return `${PY} with the requests and Cryptodome modules is missing: install the Debian packages python3-requests and python3-pycryptodome`;
  }
}

export function runPython(script: string, args: string[] = [], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PY,
      ['-c', script, ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`python failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** NetAlertX server/crypto_utils.py, verbatim in behaviour: encrypt_data / decrypt_data on pycryptodome. */
export const PY_CRYPTO = `
import base64, hashlib, sys, json
from Cryptodome.Cipher import AES
from Cryptodome.Util.Padding import pad, unpad

def prepare_key(encryption_key):
    return hashlib.sha256(encryption_key.encode()).digest()

def encrypt_data(data, encryption_key, iv=None):
    key = prepare_key(encryption_key)
    cipher = AES.new(key, AES.MODE_CBC, iv=iv) if iv is not None else AES.new(key, AES.MODE_CBC)
    ct_bytes = cipher.encrypt(pad(data.encode('utf-8'), AES.block_size))
    return base64.b64encode(cipher.iv).decode('utf-8') + base64.b64encode(ct_bytes).decode('utf-8')

def decrypt_data(data, encryption_key):
    key = prepare_key(encryption_key)
    iv = base64.b64decode(data[:24])
    ct = base64.b64decode(data[24:])
    cipher = AES.new(key, AES.MODE_CBC, iv)
    return unpad(cipher.decrypt(ct), AES.block_size).decode('utf-8')
`;

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
