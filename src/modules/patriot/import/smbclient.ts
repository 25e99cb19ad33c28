/**
 * The smbclient transport: Samba's own `smbclient` through execFile (no shell). One command per
 * invocation (smbclient splits -c scripts on ';' and reports only the last command's status), each
 * with a timeout that kills the child. Credentials go through an authentication file (mode 0600,
 * under the data dir, removed when the session ends); the password is never in argv, the
 * environment or a log line. Local files are named relative to the data dir, which is the child's
 * working directory, so no local path with spaces or quotes reaches a command script.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { checkRemoteName, TransportError, type RemoteSession, type SmbConfig, type Transport } from './transport.js';

/** Folder (under the data dir) for the authentication files. */
export const AUTH_DIR = path.join('patriot-import', 'auth');

interface Exec {
  code: number | null;
  out: string;
  status?: string;
  timedOut: boolean;
}

const STATUS_RE = /NT_STATUS_[A-Z0-9_]+/;

const EXPLAIN: Record<string, string> = {
  NT_STATUS_LOGON_FAILURE: 'logon failed (wrong user name or password)',
  NT_STATUS_ACCOUNT_DISABLED: 'logon failed (account disabled)',
  NT_STATUS_CONNECTION_REFUSED: 'connection refused (is the SMB server up?)',
  NT_STATUS_HOST_UNREACHABLE: 'host unreachable',
  NT_STATUS_IO_TIMEOUT: 'timed out',
  NT_STATUS_BAD_NETWORK_NAME: 'no such share',
  NT_STATUS_ACCESS_DENIED: 'access denied (read-only share or missing rights)',
  NT_STATUS_MEDIA_WRITE_PROTECTED: 'share is write-protected',
  NT_STATUS_DISK_FULL: 'share is full',
  NT_STATUS_OBJECT_PATH_NOT_FOUND: 'remote folder not found',
  NT_STATUS_SHARING_VIOLATION: 'file in use on the share (the importer may be reading it); retried next run',
  NT_STATUS_PASSWORD_EXPIRED: 'logon failed (password expired)',
  NT_STATUS_ACCOUNT_LOCKED_OUT: 'logon failed (account locked out)',
};

/** Quotes one smbclient command argument (names are checked before; local names are fixed). */
function q(s: string): string {
  if (/["\n\r;]/.test(s)) throw new TransportError(`unsafe name for an smbclient command: ${JSON.stringify(s)}`);
  return `"${s}"`;
}

export class SmbclientTransport implements Transport {
  readonly describe: string;

  constructor(
    private readonly smb: SmbConfig,
    private readonly dataDir: string,
  ) {
    this.describe = `smbclient //${smb.host ?? '?'}/${smb.share ?? '?'}${smb.remoteDir ? '/' + smb.remoteDir.replace(/^[\\/]+/, '') : ''} port ${smb.port}`;
  }

  private target(): string {
    const { host, share } = this.smb;
    if (!host || !share)
      throw new TransportError(
        'patriot.smb.host and patriot.smb.share are required for the smbclient transport',
        'CONFIG',
      );
    if (!/^[A-Za-z0-9._:[\]-]+$/.test(host))
      throw new TransportError('patriot.smb.host is not a host name or address', 'CONFIG');
    if (/[\\/\0]/.test(share))
      throw new TransportError('patriot.smb.share must be a share name, without slashes', 'CONFIG');
    return `//${host}/${share}`;
  }

  /** Writes the authentication file: `username`, `password`, `domain` lines, mode 0600, new name each session. */
  private async writeAuthFile(): Promise<string> {
    const { username, password, domain } = this.smb;
    if (!username) throw new TransportError('patriot.smb.username is required for the smbclient transport', 'CONFIG');
    for (const [k, v] of [
      ['username', username],
      ['password', password ?? ''],
      ['domain', domain],
    ] as const) {
      if (/[\r\n\0]/.test(v)) throw new TransportError(`patriot.smb.${k} contains a line break`, 'CONFIG');
    }
    if (password !== undefined && /^\s|\s$/.test(password)) {
      // smbclient trims the value in an authentication file
      throw new TransportError(
        'patriot.smb.password starts or ends with white space, which smbclient authentication files cannot carry',
        'CONFIG',
      );
    }
    const dir = path.join(this.dataDir, AUTH_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `smb-${process.pid}-${randomBytes(6).toString('hex')}.auth`);
    const fh = await open(file, 'wx', 0o600);
    try {
      await fh.chmod(0o600);
      await fh.writeFile(`username = ${username}\npassword = ${password ?? ''}\ndomain = ${domain}\n`);
    } finally {
      await fh.close();
    }
    return file;
  }

  private exec(authFile: string, command: string): Promise<Exec> {
    const smb = this.smb;
    const args = [
      this.target(),
      '-p',
      String(smb.port),
      '-m',
      'SMB3',
      '-A',
      authFile,
      '-t',
      String(Math.max(1, Math.ceil(smb.timeoutSeconds))),
    ];
    const dir = smb.remoteDir.replace(/^[\\/]+|[\\/]+$/g, '');
    if (dir) args.push('-D', dir);
    args.push('-c', command);
    return new Promise((resolve) => {
      execFile(
        smb.smbclientPath,
        args,
        {
          cwd: this.dataDir,
          timeout: smb.timeoutSeconds * 1000,
          killSignal: 'SIGKILL',
          maxBuffer: 4 * 1024 * 1024,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LC_ALL: 'C' },
        },
        (err, stdout, stderr) => {
          const out = `${stdout}\n${stderr}`.trim();
          const e = err as (Error & { code?: number | string; killed?: boolean; signal?: string }) | null;
          if (e && typeof e.code === 'string') {
            resolve({ code: null, out: `cannot run ${smb.smbclientPath}: ${e.code}`, status: e.code, timedOut: false });
            return;
          }
          resolve({
            code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
            out,
            status: STATUS_RE.exec(out)?.[0],
            timedOut: Boolean(e?.killed && e.signal === 'SIGKILL'),
          });
        },
      );
    });
  }

  private fail(what: string, r: Exec): never {
    if (r.timedOut)
      throw new TransportError(
        `${what}: smbclient timed out after ${this.smb.timeoutSeconds} s (${this.describe})`,
        'TIMEOUT',
      );
    const why = r.status
      ? `${r.status}${EXPLAIN[r.status] ? ': ' + EXPLAIN[r.status] : ''}`
      : `exit ${r.code}: ${r.out.split('\n').slice(-2).join(' ').slice(0, 300)}`;
    throw new TransportError(`${what} failed on ${this.describe}: ${why}`, r.status ?? 'SMBCLIENT');
  }

  async session<T>(fn: (s: RemoteSession) => Promise<T>): Promise<T> {
    this.target();
    const authFile = await this.writeAuthFile();
    try {
      const run = async (cmd: string) => {
        const r = await this.exec(authFile, cmd);
        // -D <remoteDir> failed: smbclient ran no command (and must not look like "file not found")
        const cd = /^cd \\.*?: (NT_STATUS_[A-Z0-9_]+)/m.exec(r.out);
        if (cd)
          throw new TransportError(
            `remote folder "${this.smb.remoteDir}" not found on ${this.describe} (${cd[1]})`,
            cd[1],
          );
        return r;
      };
      return await fn({
        get: async (name, local) => {
          const r = await run(`get ${q(checkRemoteName(name))} ${q(local)}`);
          if (r.code === 0 && !r.status) return true;
          if (r.status === 'NT_STATUS_OBJECT_NAME_NOT_FOUND' || r.status === 'NT_STATUS_NO_SUCH_FILE') {
            await unlink(path.join(this.dataDir, local)).catch(() => undefined);
            return false;
          }
          this.fail(`get ${name}`, r);
        },
        rename: async (from, to) => {
          const r = await run(`rename ${q(checkRemoteName(from))} ${q(checkRemoteName(to))}`);
          if (r.code === 0 && !r.status) return 'ok';
          if (r.status === 'NT_STATUS_OBJECT_NAME_NOT_FOUND' || r.status === 'NT_STATUS_NO_SUCH_FILE') return 'missing';
          if (r.status === 'NT_STATUS_OBJECT_NAME_COLLISION') return 'exists';
          this.fail(`rename ${from} -> ${to}`, r);
        },
        // Two runs, put then rename, each checked (docs/performance.md "Finding 4": smbclient runs every
        // command of a -c script after a failed one, so `put; rename` could hand over a stale or partial
        // part). The part is named per upload, so the rename can only ever move this upload's own file.
        put: async (local, name) => {
          const part = checkRemoteName(`${name}.${randomBytes(6).toString('hex')}.part`);
          try {
            const p = await run(`put ${q(local)} ${q(part)}`);
            if (p.code !== 0 || p.status) this.fail(`put ${part}`, p);
            const r = await run(`rename ${q(part)} ${q(checkRemoteName(name))}`);
            if (r.status === 'NT_STATUS_OBJECT_NAME_COLLISION')
              throw new TransportError(`${name} appeared on the share during the run; not replaced`, 'EXISTS');
            if (r.code !== 0 || r.status) this.fail(`rename ${part} -> ${name}`, r);
          } catch (e) {
            // best effort: a part left by a failed upload is never renamed, but need not stay on the share
            await run(`del ${q(part)}`).catch(() => undefined);
            throw e;
          }
        },
      });
    } finally {
      await unlink(authFile).catch(() => undefined);
    }
  }
}
