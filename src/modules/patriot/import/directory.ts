/** The directory transport: the Patriot share mounted locally (kernel CIFS client, NFS, a local folder). */
import { copyFile, link, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, safeJoin } from '../../../core/files.js';
import { checkRemoteName, TransportError, type RemoteSession, type Transport } from './transport.js';

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** rename that never replaces `to`: link + unlink (or check + rename where hard links are not supported). */
async function renameNoReplace(from: string, to: string): Promise<'ok' | 'missing' | 'exists'> {
  try {
    await link(from, to);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return 'missing';
    if (errCode(e) === 'EEXIST') return 'exists';
    if (errCode(e) !== 'EPERM' && errCode(e) !== 'ENOTSUP' && errCode(e) !== 'EOPNOTSUPP') throw e;
    if (
      await stat(to).then(
        () => true,
        () => false,
      )
    )
      return 'exists';
    await rename(from, to);
    fsyncDir(path.dirname(to));
    return 'ok';
  }
  await unlink(from);
  fsyncDir(path.dirname(to));
  return 'ok';
}

export class DirectoryTransport implements Transport {
  readonly describe: string;

  constructor(
    private readonly dir: string,
    private readonly dataDir: string,
  ) {
    this.describe = `directory ${dir}`;
  }

  async session<T>(fn: (s: RemoteSession) => Promise<T>): Promise<T> {
    if (!this.dir) throw new TransportError('patriot.smb.directory is required for the directory transport', 'CONFIG');
    try {
      const s = await stat(this.dir);
      if (!s.isDirectory()) throw new TransportError(`${this.dir} is not a directory`, 'ENOTDIR');
    } catch (e) {
      if (e instanceof TransportError) throw e;
      throw new TransportError(`share directory ${this.dir} is not available (${errCode(e) ?? 'error'})`, errCode(e));
    }
    const remote = (name: string) => path.join(this.dir, checkRemoteName(name));
    const local = (name: string) => safeJoin(this.dataDir, name);
    const wrap = async <R>(what: string, f: () => Promise<R>): Promise<R> => {
      try {
        return await f();
      } catch (e) {
        if (e instanceof TransportError) throw e;
        throw new TransportError(`${what} failed (${errCode(e) ?? (e as Error).message})`, errCode(e));
      }
    };
    return fn({
      get: (name, to) =>
        wrap(`get ${name}`, async () => {
          try {
            await copyFile(remote(name), local(to));
            return true;
          } catch (e) {
            if (errCode(e) === 'ENOENT') return false;
            throw e;
          }
        }),
      rename: (from, to) => wrap(`rename ${from} -> ${to}`, () => renameNoReplace(remote(from), remote(to))),
      put: (from, name) =>
        wrap(`put ${name}`, async () => {
          const part = remote(`${name}.part`);
          await copyFile(local(from), part);
          const fh = await open(part, 'r+');
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
          const r = await renameNoReplace(part, remote(name));
          if (r === 'exists')
            throw new TransportError(`${name} appeared on the share during the run; not replaced`, 'EXISTS');
          if (r === 'missing') throw new TransportError(`${name}.part vanished during the upload`, 'ENOENT');
          fsyncDir(this.dir);
        }),
    });
  }
}
