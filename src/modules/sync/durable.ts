/**
 * Durable writes for the plugin folder without blocking the event loop: write-file-atomic (temp
 * file, fsync, rename) and an asynchronous fsync of the folder that concurrent writers share
 * (a sync queued after a rename covers every rename done before it starts).
 */
import { mkdir, open } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';

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
        const fh = await open(this.dir, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
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
