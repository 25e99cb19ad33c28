/** Helpers of the sync tests: apps with a token, the plugin folder, Debian's python with requests + Cryptodome. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { makeApp, type TestApp } from '../../helpers/app.js';
import sync from '../../../src/modules/sync/index.js';

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

export function files(t: TestApp): string[] {
  const d = pluginDir(t);
  return existsSync(d)
    ? readdirSync(d)
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
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
