/**
 * First start: with no admin.token configured, fieldhub uses `<dataDir>/admin.token`, creating it
 * (32 random bytes, base64url, mode 0600) when it does not exist. A configured token always wins.
 * Logs the file's path, never the token.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Config } from './config.js';

export const ADMIN_TOKEN_FILE = 'admin.token';

/** Fills config.admin.token from the data dir when unset; returns the file path used, or undefined. */
export function ensureAdminToken(config: Config, log: { info(obj: object, msg: string): void }): string | undefined {
  if (config.admin.token) return undefined;
  const file = path.join(config.dataDir, ADMIN_TOKEN_FILE);
  let token: string | undefined;
  try {
    token = readFileSync(file, 'utf8').trim() || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!token) {
    mkdirSync(config.dataDir, { recursive: true });
    token = randomBytes(32).toString('base64url');
    writeFileAtomic.sync(file, token + '\n', { mode: 0o600, fsync: true });
    log.info({ file }, 'created an admin token (no admin.token configured)');
  }
  config.admin.token = token;
  return file;
}
