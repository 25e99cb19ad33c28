/** The console's sign-in and the first start, through the HTTP surface (no browser). */
import { readFileSync, statSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureAdminToken } from '../../src/core/admin-token.js';
import { startServer } from '../../src/main.js';
import { ADMIN, LogCapture, makeApp, tempDir, testConfig, type TestApp, closesItself } from '../helpers/app.js';

let t: TestApp | undefined;

const login = (token: string, headers: Record<string, string> = {}) =>
  t!.app.inject({
    method: 'POST',
    url: '/console/login',
    payload: { token },
    headers: { 'content-type': 'application/json', ...headers },
  });
const cookieOf = (r: { headers: Record<string, unknown> }) => String(r.headers['set-cookie']).split(';')[0]!;

describe('console sign-in', () => {
  it('sets a signed HttpOnly SameSite=Strict expiring cookie, Secure behind TLS; the session authorises /admin with CSRF on changes', async () => {
    t = closesItself(
      await makeApp(
        { server: { trustProxy: true, logLevel: 'info' }, console: { sessionHours: 2 } },
        { startScheduler: false },
      ),
    );
    const plain = await login('admin-secret-token');
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['set-cookie']).toMatch(
      /^fieldhub_session=[A-Za-z0-9_-]+\.[A-Za-z0-9+/_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    // expiring: within sessionHours (2 h), not a fixed second (that depends on how fast the machine is)
    const maxAge = Number(/Max-Age=(\d+)/.exec(String(plain.headers['set-cookie']))![1]);
    expect(maxAge > 0 && maxAge <= 7200).toBe(true);
    const tls = await login('admin-secret-token', { 'x-forwarded-proto': 'https' });
    expect(tls.headers['set-cookie']).toMatch(/; Secure$/);

    const cookie = cookieOf(plain);
    const csrf = plain.json().csrf as string;
    expect((await t.app.inject({ url: '/admin/push/health', headers: { cookie } })).statusCode).toBe(200);
    // a forged or tampered cookie is no session
    expect(
      (await t.app.inject({ url: '/admin/push/health', headers: { cookie: cookie.slice(0, -2) + 'xx' } })).statusCode,
    ).toBe(401);
    const put = (headers: Record<string, string>) =>
      t!.app.inject({ method: 'PUT', url: '/admin/push/devices/7', headers: { cookie, ...headers } });
    expect((await put({})).statusCode).toBe(403);
    expect((await put({ 'x-csrf-token': 'wrong' })).statusCode).toBe(403);
    expect((await put({ 'x-csrf-token': csrf })).statusCode).toBe(201);
    // the bearer token keeps working without CSRF (scripts)
    expect((await t.app.inject({ method: 'PUT', url: '/admin/push/devices/8', headers: ADMIN })).statusCode).toBe(201);

    // logout needs the CSRF token, then the session is gone
    expect((await t.app.inject({ method: 'POST', url: '/console/logout', headers: { cookie } })).statusCode).toBe(403);
    const out = await t.app.inject({
      method: 'POST',
      url: '/console/logout',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(out.statusCode).toBe(200);
    expect(out.headers['set-cookie']).toMatch(/Max-Age=0/);
    expect((await t.app.inject({ url: '/admin/push/health', headers: { cookie } })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/console/session', headers: { cookie } })).statusCode).toBe(401);
  });

  it('rate limits failed sign-ins per address and logs them without the token; a cross-origin sign-in is refused', async () => {
    t = closesItself(
      await makeApp({ console: { maxFailedSignIns: 3, failedSignInWindowSeconds: 60 } }, { startScheduler: false }),
    );
    for (let i = 0; i < 3; i++) expect((await login(`guess-number-${i}`)).statusCode).toBe(401);
    const blocked = await login('admin-secret-token');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    const failed = t.logs.json().filter((l) => l.msg === 'console sign-in failed');
    expect(failed).toHaveLength(3);
    expect(t.logs.text).not.toMatch(/guess-number|admin-secret-token/);
    const t2 = await makeApp({}, { startScheduler: false });
    const other = await t2.app.inject({
      method: 'POST',
      url: '/console/login',
      payload: { token: 'admin-secret-token' },
      headers: { origin: 'https://evil.example' },
    });
    expect(other.statusCode).toBe(403);
    await t2.close();
  });

  it('answers the page and the assets with a strict CSP (no inline script), and every other answer with default-src none', async () => {
    t = closesItself(await makeApp({}, { startScheduler: false }));
    const page = await t.app.inject('/console');
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]/); // external scripts only
    expect(page.body).toContain('src="/console/assets/app.js"');
    const js = await t.app.inject('/console/assets/app.js');
    expect(js.statusCode).toBe(200);
    expect(js.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.(com|net|org|io)\//i); // no CDN
    expect((await t.app.inject({ url: '/admin/push/health', headers: ADMIN })).headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });

  it('documents the operator endpoints the console uses in OpenAPI', async () => {
    t = closesItself(await makeApp({}, { startScheduler: false }));
    const paths = Object.keys((await t.app.inject('/docs/json')).json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/console/login',
        '/console/logout',
        '/console/session',
        '/admin/push/health',
        '/admin/push/devices',
        '/admin/patriot/health',
        '/admin/patriot/keys',
        '/admin/patriot/keys/{keyName}/clients',
        '/admin/patriot/keys/{keyName}/clients/{clientId}/resend',
        '/admin/sync/health',
        '/admin/sync/nodes',
        '/admin/sync/payloads',
        '/admin/sync/notifications',
        '/admin/conduit/health',
        '/admin/conduit/devices',
        '/admin/conduit/datapoints',
      ]),
    );
  });
});

describe('first start', () => {
  it('creates <dataDir>/admin.token (0600) when none is configured, reuses it, and a configured token wins', () => {
    const dataDir = tempDir();
    const config = testConfig({ admin: {} }, dataDir);
    config.admin.token = undefined;
    const logs = new LogCapture();
    const lines: string[] = [];
    const log = { info: (o: object, m: string) => lines.push(JSON.stringify({ ...o, m })), warn: () => {} };
    const file = ensureAdminToken(config, log);
    expect(file).toBe(path.join(dataDir, 'admin.token'));
    expect(statSync(file!).mode & 0o777).toBe(0o600);
    const token = readFileSync(file!, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(config.admin.token).toBe(token);
    expect(lines.join('\n')).toContain(file!);
    expect(lines.join('\n')).not.toContain(token);

    const again = testConfig({}, dataDir);
    again.admin.token = undefined;
    ensureAdminToken(again, log);
    expect(again.admin.token).toBe(token);

    const configured = testConfig({ admin: { token: 'configured-token-1' } }, dataDir);
    expect(ensureAdminToken(configured, log)).toBeUndefined();
    expect(configured.admin.token).toBe('configured-token-1');
    expect(logs.lines).toEqual([]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('fieldhub serve logs the console URL and the token file path, never the token', async () => {
    const dataDir = tempDir();
    const config = testConfig({ server: { port: 0 } }, dataDir);
    config.admin.token = undefined;
    const logs = new LogCapture();
    const app = await startServer(config, { logStream: logs, startScheduler: false, defaultMetrics: false });
    try {
      const token = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
      const line = logs
        .json()
        .find((l) => typeof l.msg === 'string' && l.msg.startsWith('operator console at http://127.0.0.1:'));
      expect(line).toMatchObject({ tokenFile: path.join(dataDir, 'admin.token') });
      expect(String(line!.msg)).toMatch(/\/console: sign in with the token in /);
      expect(logs.text).not.toContain(token);
      const r = await app.inject({ method: 'POST', url: '/console/login', payload: { token } });
      expect(r.statusCode).toBe(200);
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
