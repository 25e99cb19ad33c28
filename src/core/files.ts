/** File helpers: existence checks, atomic writes, durable folders, and paths that cannot leave their base directory. */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { access, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** true when `file` exists (any kind of entry). */
export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Removes a file; a file that is already gone is not an error. Returns whether it removed one. */
export async function unlinkIfExists(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** fsyncs a directory so that a rename inside it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory without blocking the event loop. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes a file atomically and durably: temp name in the same folder, fsync, rename, fsync of
 * the folder (write-file-atomic does the first three). A reader sees the old or the new file, never part.
 */
export async function writeFileDurable(
  file: string,
  data: string | Buffer,
  opts: { mode?: number } = {},
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, data, { fsync: true, mode: opts.mode });
  await fsyncDirAsync(path.dirname(file));
}

/**
 * A folder that concurrent writers share, written durably without blocking the event loop: each
 * file atomically (temp, fsync, rename), then one asynchronous fsync of the folder; a sync queued
 * after a rename covers every rename done before it starts, so concurrent writes share syncs.
 */
export class DurableDir {
  private pending: Promise<void> | undefined;
  private current: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  /** fsyncs the folder; joins a sync that is queued and not started yet. */
  sync(): Promise<void> {
    if (this.pending) return this.pending;
    const p = this.current
      .catch(() => undefined)
      .then(async () => {
        this.pending = undefined;
        await fsyncDirAsync(this.dir);
      });
    this.pending = p;
    this.current = p;
    return p;
  }

  /** Writes `file` (a path inside the folder) atomically and durably. */
  async write(file: string, data: string | Buffer): Promise<void> {
    try {
      await writeFileAtomic(file, data, { fsync: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(this.dir, { recursive: true }); // first write, or the folder was removed
      await writeFileAtomic(file, data, { fsync: true });
    }
    await this.sync();
  }
}

export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

/**
 * Joins `parts` under `base` and refuses any result outside it (`..`, absolute parts, NUL).
 * Use for every path built from input.
 */
export function safeJoin(base: string, ...parts: string[]): string {
  for (const p of parts) {
    if (p.includes('\0')) throw new UnsafePathError('path contains NUL');
  }
  const root = path.resolve(base);
  const full = path.resolve(root, ...parts);
  if (full !== root && !full.startsWith(root + path.sep)) throw new UnsafePathError(`path escapes ${root}`);
  return full;
}
