import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawGet, tempDir } from './helpers/app.js';

const root = path.join(import.meta.dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

function waitFor(child: ReturnType<typeof spawn>, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${out}`)), 20_000);
    const on = (c: Buffer) => {
      out += c.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

describe.skipIf(!existsSync(cli))('fieldhub CLI (built dist/)', () => {
  it('`fieldhub serve` with the shipped default config creates the database and serves the ops surface', async () => {
    const data = tempDir();
    const child = spawn(process.execPath, [cli, 'serve'], {
      cwd: root,
      env: { ...baseEnv, FIELDHUB_DATA_DIR: data, FIELDHUB_PORT: '0' },
    });
    try {
      const port = await waitFor(child, /Server listening at http:\/\/127\.0\.0\.1:(\d+)/);
      expect(existsSync(path.join(data, 'fieldhub.sqlite'))).toBe(true);
      for (const p of ['/healthz', '/readyz', '/metrics', '/docs']) {
        expect((await fetch(`http://127.0.0.1:${port}${p}`)).status, p).toBe(200);
      }
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
  });

  it.each([
    [{ FIELDHUB_PORT: 'eighty' }, /^fieldhub: invalid config: server\.port: /],
    [
      { FIELDHUB_ADMIN__TOKEN_FILE: '/nonexistent/admin.token' },
      /^fieldhub: invalid config: admin\.tokenFile: cannot read \/nonexistent\/admin\.token \(ENOENT\)$/,
    ],
    [{ FIELDHUB_CONFIG: '/nonexistent.json' }, /^fieldhub: invalid config: cannot read config file/],
  ])('bad config %o stops start-up with exit 1 and one clear line', (env, re) => {
    const r = spawnSync(process.execPath, [cli, 'serve'], {
      cwd: root,
      env: { ...baseEnv, FIELDHUB_DATA_DIR: tempDir(), ...env },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    const err = r.stderr.trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toMatch(re);
  });

  it('SIGTERM while a slow request is in flight: the request completes and the process exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/slow-server.ts')], {
      cwd: root,
      env: { ...baseEnv, FIELDHUB_DATA_DIR: tempDir(), FIELDHUB_PORT: '0' },
    });
    const port = await waitFor(child, /LISTENING (\d+)/);
    const body = rawGet(port, '/slow?ms=1500');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const exit = new Promise((r) => child.on('exit', r));
    expect(await body).toBe('200 {"slept":1500}');
    expect(await exit).toBe(0);
  });
});
