/**
 * A real PostgreSQL for tests and benchmarks, run as a private server: `initdb` into a temp data dir,
 * `pg_ctl start` on 127.0.0.1 and a free port, its Unix socket in the same temp dir, password
 * (scram-sha-256) over TCP so the URL carries a secret as in production. As root (CI containers, this
 * machine) the server runs as the Debian `postgres` user (initdb refuses root); otherwise as the
 * current user. Without Debian's `postgresql` package the tests that need it are skipped with a
 * message naming the package.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../modules/patriot/helpers/smbd.js';

const IS_ROOT = process.getuid?.() === 0;
export const PG_USER = 'fieldhub';
const PASSWORD = 'pg-test-secret-9f3';

function binDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0]!, 'bin') : null;
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (!binDir()) return 'initdb/pg_ctl not found: install the Debian package "postgresql" (.ci/run does)';
  if (IS_ROOT) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'no "postgres" user to run the server as (the Debian package "postgresql" creates it)';
    }
  }
  return null;
}

export class Postgres {
  readonly root: string;
  readonly dataDir: string;
  port = 0;
  private readonly bin: string;

  private constructor() {
    const bin = binDir();
    if (!bin) throw new Error(postgresUnavailable() ?? 'no postgresql');
    this.bin = bin;
    this.root = mkdtempSync(path.join(tmpdir(), 'fieldhub-pg-'));
    this.dataDir = path.join(this.root, 'data');
  }

  /** postgres://fieldhub:<secret>@127.0.0.1:<port>/<db> */
  url(db = 'fieldhub'): string {
    return `postgres://${PG_USER}:${PASSWORD}@127.0.0.1:${this.port}/${db}`;
  }

  get password(): string {
    return PASSWORD;
  }

  private run(cmd: string, args: string[]): string {
    const file = path.join(this.bin, cmd);
    const argv = IS_ROOT ? ['-u', 'postgres', '--', file, ...args] : args;
    return execFileSync(IS_ROOT ? 'runuser' : file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  static async start(): Promise<Postgres> {
    const pg = new Postgres();
    if (IS_ROOT) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(pg.root, uid, gid);
    }
    chmodSync(pg.root, 0o700);
    const pwfile = path.join(pg.root, 'pw');
    writeFileSync(pwfile, PASSWORD, { mode: 0o600 });
    if (IS_ROOT) execFileSync('chown', ['postgres', pwfile]);
    pg.run('initdb', [
      '-D',
      pg.dataDir,
      '-U',
      PG_USER,
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    rmSync(pwfile);
    pg.port = await freePort();
    pg.startServer();
    pg.run('createdb', ['-h', pg.root, '-p', String(pg.port), '-U', PG_USER, 'fieldhub']);
    return pg;
  }

  private startServer(): void {
    const opts = [
      `-p ${this.port}`,
      `-k ${this.root}`,
      "-c listen_addresses='127.0.0.1'",
      '-c max_connections=200',
      '-c shared_buffers=64MB',
    ].join(' ');
    this.run('pg_ctl', ['-D', this.dataDir, '-l', path.join(this.root, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  }

  /** Creates another database (one per test file or test keeps them apart). */
  createDb(name: string): string {
    this.run('createdb', ['-h', this.root, '-p', String(this.port), '-U', PG_USER, name]);
    return this.url(name);
  }

  /** Runs SQL as the superuser over the socket (for tests that inspect or break things). */
  psql(sql: string, db = 'fieldhub'): string {
    return this.run('psql', ['-h', this.root, '-p', String(this.port), '-U', PG_USER, '-d', db, '-At', '-c', sql]);
  }

  /** Stops the server (fast: aborts open transactions, as a crash of the database box would look to clients). */
  stopServer(): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  restartServer(): void {
    this.startServer();
  }

  stop(): void {
    try {
      this.stopServer();
    } catch {
      // already stopped
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
