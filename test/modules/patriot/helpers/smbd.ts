/**
 * A real Samba `smbd` for tests and benchmarks, run as our own child process:
 * `smbd --foreground --no-process-group --debug-stdout -s <private smb.conf>` on 127.0.0.1 and a
 * free high port, with every state/lock/pid/cache/private folder under one temp dir, a share
 * `patriot` pointing to a temp folder, and a user added with `smbpasswd -a -s` to a private passdb.
 *
 * smbd switches to the logged-on Unix user, so the SMB user must be a real Unix user. As root (CI
 * containers, this machine) we create a system user `fhsmbtest` with useradd when it is missing,
 * chown the share folder to it and add it with `smbpasswd -a -s`. Without root, smbd runs as the
 * current user and serves only that user (smbpasswd refuses non-root, so `pdbedit -a -t` adds it).
 * Without the samba packages the tests that need smbd are skipped with a message naming them.
 *
 * smbd is spawned detached (its own process group): when it stops it signals its process group,
 * which must not be ours.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

const IS_ROOT = process.getuid?.() === 0;
/** the SMB (and Unix) user of the test share */
export const SMB_USER = IS_ROOT ? 'fhsmbtest' : userInfo().username;
export const SMB_SHARE = 'patriot';

function which(bin: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')]) {
    const p = path.join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** Why smbd tests cannot run here, or null when they can. */
export function smbdUnavailable(): string | null {
  const missing = ['smbd', 'smbclient', IS_ROOT ? 'smbpasswd' : 'pdbedit'].filter((b) => !which(b));
  if (missing.length)
    return `${missing.join(', ')} not found: install the Debian packages "samba" and "smbclient" (.ci/run does)`;
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function ensureUnixUser(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync(
        which('useradd') ?? 'useradd',
        ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name],
        { stdio: 'ignore' },
      );
    } catch {
      // a parallel test file may have created it a moment ago
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

export interface SmbdOptions {
  password?: string;
  readOnly?: boolean;
}

export class Smbd {
  readonly root: string;
  readonly shareDir: string;
  readonly conf: string;
  readonly host = '127.0.0.1';
  readonly share = SMB_SHARE;
  readonly username = SMB_USER;
  readonly password: string;
  port = 0;
  private child?: ChildProcess;
  private readOnly: boolean;
  private owner = { uid: 0, gid: 0 };

  constructor(opts: SmbdOptions = {}) {
    this.root = mkdtempSync(path.join(tmpdir(), 'fieldhub-smbd-'));
    chmodSync(this.root, 0o755);
    this.shareDir = path.join(this.root, 'share');
    this.conf = path.join(this.root, 'smb.conf');
    this.password = opts.password ?? 'Pa$$ w0rd;"æøå';
    this.readOnly = opts.readOnly ?? false;
  }

  private writeConf(): void {
    const d = (n: string) => path.join(this.root, n);
    writeFileSync(
      this.conf,
      `[global]
  server role = standalone server
  workgroup = WORKGROUP
  netbios name = FIELDHUBTEST
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = ${this.port}
  disable netbios = yes
  state directory = ${d('state')}
  lock directory = ${d('lock')}
  pid directory = ${d('pid')}
  cache directory = ${d('cache')}
  private dir = ${d('private')}
  ncalrpc dir = ${d('ncalrpc')}
  passdb backend = tdbsam:${d('private/passdb.tdb')}
  smb passwd file = ${d('private/smbpasswd')}
  log level = 1
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2
  map to guest = never
  restrict anonymous = 2

[${SMB_SHARE}]
  path = ${this.shareDir}
  read only = ${this.readOnly ? 'yes' : 'no'}
  valid users = ${SMB_USER}
`,
    );
  }

  /** Creates the folders, the config and the user (first call), then starts smbd and waits until it answers. */
  async start(): Promise<void> {
    if (!this.port) {
      this.port = await freePort();
      for (const n of ['state', 'lock', 'pid', 'cache', 'private', 'ncalrpc', 'share'])
        mkdirSync(path.join(this.root, n), { recursive: true });
      this.writeConf();
      const input = `${this.password}\n${this.password}\n`;
      if (IS_ROOT) {
        this.owner = ensureUnixUser(SMB_USER);
        chownSync(this.shareDir, this.owner.uid, this.owner.gid);
        execFileSync(which('smbpasswd')!, ['-c', this.conf, '-a', '-s', SMB_USER], {
          input,
          stdio: ['pipe', 'ignore', 'pipe'],
        });
      } else {
        execFileSync(which('pdbedit')!, ['-s', this.conf, '-a', '-u', SMB_USER, '-t'], {
          input,
          stdio: ['pipe', 'ignore', 'pipe'],
        });
      }
    }
    // detached: smbd gets a process group of its own. On SIGTERM smbd signals its whole process
    // group (kill(0, SIGTERM)) to stop its children; in our group that would kill the test runner.
    const child = spawn(which('smbd')!, ['--foreground', '--no-process-group', '--debug-stdout', '-s', this.conf], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    child.once('exit', () => process.off('exit', onExit));
    let out = '';
    const keep = (c: Buffer) => {
      out = (out + c.toString()).slice(-20000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`smbd exited ${child.exitCode}: ${out.slice(-2000)}`);
      if ((await this.client('ls')).code === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`smbd did not answer on port ${this.port}: ${out.slice(-2000)}`);
  }

  /** Runs one smbclient command as the test user (credentials in a 0600 file under the temp dir). */
  client(command: string, opts: { cwd?: string; password?: string } = {}): Promise<{ code: number; out: string }> {
    const auth = path.join(this.root, `auth-${Math.random().toString(36).slice(2)}`);
    writeFileSync(auth, `username = ${SMB_USER}\npassword = ${opts.password ?? this.password}\ndomain = WORKGROUP\n`, {
      mode: 0o600,
    });
    return new Promise((resolve) => {
      execFile(
        which('smbclient')!,
        [`//${this.host}/${SMB_SHARE}`, '-p', String(this.port), '-m', 'SMB3', '-A', auth, '-c', command],
        { cwd: opts.cwd ?? this.root, timeout: 20000 },
        (err, stdout, stderr) => {
          rmSync(auth, { force: true });
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
        },
      );
    });
  }

  /** Makes the share read-only (or writable again): new config, SIGHUP, wait until a write probe agrees. */
  async setReadOnly(ro: boolean): Promise<void> {
    this.readOnly = ro;
    this.writeConf();
    this.child?.kill('SIGHUP');
    writeFileSync(path.join(this.root, 'probe.txt'), 'probe');
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      const r = await this.client('put probe.txt zz_probe.txt');
      const denied = /NT_STATUS_ACCESS_DENIED|NT_STATUS_MEDIA_WRITE_PROTECTED/.test(r.out);
      if (ro ? denied : r.code === 0 && !denied) {
        if (!ro) await this.client('del zz_probe.txt');
        return;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`smbd did not switch the share to ${ro ? 'read-only' : 'writable'}`);
  }

  get running(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }

  /** Stops smbd and removes every file it used. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The fieldhub config of this share. */
  smbConfig(extra: Record<string, unknown> = {}) {
    return {
      enabled: true,
      transport: 'smbclient' as const,
      host: this.host,
      port: this.port,
      share: SMB_SHARE,
      username: SMB_USER,
      password: this.password,
      timeoutSeconds: 20,
      ...extra,
    };
  }
}
