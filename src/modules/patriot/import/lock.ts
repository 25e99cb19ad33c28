/**
 * A run lock across processes (the server's scheduled run and a `fieldhub patriot combine --once`
 * started by hand): a file created with O_EXCL holding the owner's pid. A lock whose process is
 * gone is stale and taken over.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RunLockedError extends Error {
  override name = 'RunLockedError';
}

export async function acquireLock(file: string): Promise<() => Promise<void>> {
  await mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && alive(pid))
        throw new RunLockedError(`another import run is in progress (pid ${pid})`);
      if (pid === process.pid) throw new RunLockedError('an import run of this process is in progress');
      await unlink(file).catch(() => undefined); // stale
    }
  }
  throw new RunLockedError(`cannot take the run lock ${file}`);
}
