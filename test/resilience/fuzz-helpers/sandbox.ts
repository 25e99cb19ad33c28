/**
 * The fuzz sandbox: a fresh temp parent holding the data dir (a few levels down, so that `../..`
 * lands inside the parent) and a sentinel tree beside it. Snapshots of everything outside the data
 * dir (paths + sizes + mtimes) before and after prove that no request wrote outside the data dir;
 * realpaths of everything inside prove that nothing in it points out of it.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  lstatSync,
  writeFileSync,
  existsSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onPostgres, pgUrlFor } from '../../helpers/driver.js';
import { MARK } from './values.js';

export const ADMIN_TOKEN = 'fuzz-admin-token-0123456789';
export const SYNC_TOKEN = 'fuzz-sync-token-0123456789';
export const PATRIOT_KEY = 'fuzz-patriot-key-0123456789';
export const PATRIOT_KEY_NAME = 'Fuzz';
export const CONDUIT_TOKEN = 'fuzz-conduit-token-0123456789';
export const CONDUIT_SITE = 'site-a';

export interface Sandbox {
  parent: string;
  dataDir: string;
  sentinel: string;
  /** config overrides for the app (loadConfig shape) */
  overrides: Record<string, unknown>;
  cleanup(): void;
}

export function makeSandbox(extra: Record<string, unknown> = {}): Sandbox {
  const parent = mkdtempSync(path.join(tmpdir(), 'fieldhub-fuzz-'));
  const dataDir = path.join(parent, 'a', 'b', 'c', 'data');
  const sentinel = path.join(parent, 'sentinel');
  mkdirSync(dataDir, { recursive: true });
  for (const d of ['', 'log', 'log/plugins', 'out', 'out/clients', 'x']) {
    mkdirSync(path.join(sentinel, d), { recursive: true });
    writeFileSync(path.join(sentinel, d, 'keep.txt'), 'sentinel\n');
  }
  writeFileSync(path.join(parent, 'a', 'keep.txt'), 'sentinel\n');
  writeFileSync(
    path.join(dataDir, 'keys.json'),
    JSON.stringify([
      { key_name: PATRIOT_KEY_NAME, key: PATRIOT_KEY, enabled: true, port: 'FUZZ1', installer_name: 'Fuzz Installer' },
    ]),
  );
  const overrides = {
    dataDir,
    server: { logLevel: 'info', host: '127.0.0.1', port: 0 },
    // NORMAL: the fuzz is about input, not power loss; it keeps the thousands of commits fast.
    // The PostgreSQL run (vitest.resilience.pg.config.ts): the data dir's own database
    store: onPostgres ? { driver: 'postgres', url: pgUrlFor(dataDir) } : { synchronous: 'NORMAL' },
    admin: { token: ADMIN_TOKEN },
    sync: { apiToken: SYNC_TOKEN },
    conduit: { throttleSeconds: 0 },
    ...extra,
  };
  return { parent, dataDir, sentinel, overrides, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

export type Snapshot = Map<string, string>;

/** path -> "type size mtime" of every entry under `root`, skipping `skip` (the data dir) */
export function snapshot(root: string, skip: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (full === skip) continue;
      const st = lstatSync(full);
      out.set(
        full,
        `${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f'} ${st.isDirectory() ? 0 : st.size} ${st.mtimeMs}`,
      );
      if (st.isDirectory()) walk(full);
    }
  };
  out.set(root, `d 0 ${lstatSync(root).mtimeMs}`);
  walk(root);
  return out;
}

export function snapshotDiff(before: Snapshot, after: Snapshot): string[] {
  const diff: string[] = [];
  for (const [p, v] of after) if (before.get(p) !== v) diff.push(`${before.has(p) ? 'changed' : 'new'}: ${p}`);
  for (const p of before.keys()) if (!after.has(p)) diff.push(`removed: ${p}`);
  return diff;
}

/** Entries under the data dir whose real path is outside it (symlinks, or a name that escaped). */
export function escapesOf(dataDir: string): string[] {
  const root = realpathSync(dataDir);
  const bad: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      let real: string;
      try {
        real = realpathSync(full);
      } catch {
        continue; // removed meanwhile (temp files of atomic writes)
      }
      if (real !== root && !real.startsWith(root + path.sep)) bad.push(`${full} -> ${real}`);
      else if (lstatSync(full).isDirectory()) walk(full);
    }
  };
  walk(root);
  return bad;
}

/** Files named with the fuzz marker in the places a traversal could reach (temp dir, cwd, /). */
export function markerFilesOutside(dataDir: string): string[] {
  const found: string[] = [];
  for (const dir of [tmpdir(), process.cwd(), '/', path.dirname(process.cwd())]) {
    try {
      for (const n of readdirSync(dir)) if (n.includes(MARK)) found.push(path.join(dir, n));
    } catch {
      // unreadable: nothing written there either
    }
  }
  return found.filter((f) => !f.startsWith(dataDir) && existsSync(f));
}
