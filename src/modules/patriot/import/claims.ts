/**
 * The hand-over between the API (writer of <xmlDir>/<key>/<client>.xml) and the import run.
 *
 * A run CLAIMS a file by renaming it to `.<name>.claimed-<runId>` in the same folder (the scanner
 * ignores dot files), combines from the claimed copy, and then either drops the claim (upload
 * succeeded) or restores it with link(claimed, original) + unlink(claimed). link() never replaces:
 * when the API wrote a newer file meanwhile, EEXIST tells us so and the old claimed copy is dropped.
 * A change made during the run therefore always stays for the next run.
 */
import { link, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { unlinkIfExists } from '../../../core/files.js';

export interface XmlFile {
  /** absolute path of `<xmlDir>/<key>/<client>.xml` */
  file: string;
  /** path relative to the XML dir, '/'-separated */
  rel: string;
  /** first folder under the XML dir (the API key name), '' for files at the top */
  keyName: string;
  /** numeric file stem (the client id), or null */
  clientId: number | null;
  mtimeMs: number;
  size: number;
}

export interface Claim extends XmlFile {
  /** the claimed copy; '' once it was restored, released or rejected */
  claimed: string;
  /** the client's xml_version in the store when the file was claimed */
  version?: number | null;
}

const CLAIM_RE = /^\.(.+\.xml)\.claimed-([A-Za-z0-9_-]+)$/;

function describe(xmlDir: string, file: string, mtimeMs: number, size: number): XmlFile {
  const rel = path.relative(xmlDir, file).split(path.sep).join('/');
  const parts = rel.split('/');
  const stem = path.basename(file, '.xml');
  return {
    file,
    rel,
    keyName: parts.length > 1 ? parts[0]! : '',
    clientId: /^[0-9]{1,15}$/.test(stem) ? Number(stem) : null,
    mtimeMs,
    size,
  };
}

async function walk(dir: string, visit: (file: string, name: string) => Promise<void> | void): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.')) await walk(full, visit);
    } else if (e.isFile()) await visit(full, e.name);
  }
}

/** What a scan remembers of a file between runs (ScanCache). */
export type ScanCache = Map<string, { mtimeMs: number; size: number }>;

/**
 * Every `*.xml` (not dot files, not temp files) under the XML dir, oldest first. With `cache` (kept
 * by the caller across runs) only files not seen by an earlier scan are stat'ed: a file keeps the
 * time it was first seen with, so one rewritten since keeps its place in the queue (its new content
 * is what a claim reads); entries of files gone are dropped. Without a cache every file is stat'ed.
 */
export async function scanXmlFiles(xmlDir: string, cache?: ScanCache): Promise<XmlFile[]> {
  const names: string[] = [];
  await walk(xmlDir, (file, name) => {
    if (!name.startsWith('.') && name.toLowerCase().endsWith('.xml')) names.push(file);
  });
  const out: XmlFile[] = [];
  const fresh: string[] = [];
  for (const f of names) {
    const known = cache?.get(f);
    if (known) out.push(describe(xmlDir, f, known.mtimeMs, known.size));
    else fresh.push(f);
  }
  if (cache && cache.size > names.length - fresh.length) {
    const present = new Set(names);
    for (const f of cache.keys()) if (!present.has(f)) cache.delete(f);
  }
  // stat in parallel slices: 10,000 files stay well under a second
  for (let i = 0; i < fresh.length; i += 256) {
    const slice = fresh.slice(i, i + 256);
    const stats = await Promise.all(slice.map((f) => stat(f).catch(() => null)));
    stats.forEach((s, j) => {
      if (!s) return;
      out.push(describe(xmlDir, slice[j]!, s.mtimeMs, s.size));
      cache?.set(slice[j]!, { mtimeMs: s.mtimeMs, size: s.size });
    });
  }
  out.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return out;
}

export function claimName(file: string, runId: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.claimed-${runId}`);
}

/** Claims one file; null when it vanished (deleted by the API) before the claim. */
export async function claim(f: XmlFile, runId: string): Promise<Claim | null> {
  const claimed = claimName(f.file, runId);
  try {
    await rename(f.file, claimed);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return { ...f, claimed };
}

/**
 * Puts a claimed copy back under its original name unless a newer file took that name.
 * Returns 'restored' or 'superseded'.
 */
export async function restore(claimed: string, original: string): Promise<'restored' | 'superseded'> {
  let result: 'restored' | 'superseded' = 'restored';
  try {
    await link(claimed, original);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') result = 'superseded';
    else if (code !== 'ENOENT') throw e;
  }
  await unlinkIfExists(claimed);
  return result;
}

/** Drops a claimed copy after a successful upload. */
export async function release(claimed: string): Promise<void> {
  await unlinkIfExists(claimed);
}

/** true when the API wrote a newer file under the claimed file's original name. */
export async function supersededBy(original: string): Promise<boolean> {
  try {
    await stat(original);
    return true;
  } catch {
    return false;
  }
}

/**
 * Deals with every leftover claimed file (a run that crashed or was killed). Returns how many.
 * A claim of a run whose batch was recorded (`committed(runId)`: uploaded, and the clients marked
 * pending_import, before the process stopped) is dropped, as that run would have done; any other is
 * restored.
 */
export async function recoverClaims(
  xmlDir: string,
  committed: (runId: string) => boolean = () => false,
): Promise<number> {
  const found: Array<[string, string, string]> = [];
  await walk(xmlDir, (file, name) => {
    const m = CLAIM_RE.exec(name);
    if (m) found.push([file, path.join(path.dirname(file), m[1]!), m[2]!]);
  });
  for (const [claimed, original, runId] of found) {
    if (committed(runId)) await release(claimed);
    else await restore(claimed, original);
  }
  return found.length;
}

/** Every claim put back (failed or local-only run). */
export async function restoreAll(claims: readonly Claim[]): Promise<void> {
  await inSlices(claims, (c) => (c.claimed ? restore(c.claimed, c.file) : undefined));
}

/** Every claimed file dropped (its batch is uploaded and recorded). */
export async function releaseAll(claims: readonly Claim[]): Promise<void> {
  await inSlices(claims, (c) => (c.claimed ? release(c.claimed) : undefined));
}

/** `key\0client` of the claimed clients the API rewrote during the run (their new file waits for the next one). */
export async function supersededClients(claims: readonly Claim[]): Promise<Set<string>> {
  const changed = new Set<string>();
  await Promise.all(
    claims.map(async (c) => {
      if (c.claimed && (await supersededBy(c.file))) changed.add(`${c.keyName}\0${c.clientId}`);
    }),
  );
  return changed;
}

/** Runs `fn` over `items`, 64 at a time (file operations: keeps the thread pool busy, bounded). */
async function inSlices<T>(items: readonly T[], fn: (x: T) => Promise<unknown> | undefined): Promise<void> {
  for (let i = 0; i < items.length; i += 64) await Promise.all(items.slice(i, i + 64).map(async (x) => fn(x)));
}
