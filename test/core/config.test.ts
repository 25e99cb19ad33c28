import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'fieldhub-config-'));
const file = (name: string, body: unknown) => {
  const f = path.join(dir, name);
  writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
  return f;
};

describe('config', () => {
  it('defaults: 127.0.0.1:8080, ./data, FULL sync, module defaults from the issues', () => {
    const c = loadConfig({ file: file('empty.json', {}), env: {}, cwd: dir });
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.server.port).toBe(8080);
    expect(c.dataDir).toBe(path.join(dir, 'data'));
    expect(c.store.synchronous).toBe('FULL');
    expect(c.patriot.import.cron).toBe('59 * * * *');
    expect(c.patriot.import.maxClientsPerRun).toBe(300);
    expect(c.patriot.smb.port).toBe(445);
    expect(c.patriot.xmlDir).toBe(path.join(dir, 'data', 'out', 'clients'));
    expect(c.push.resultTimeoutSeconds).toBe(60);
    expect(c.conduit.throttleSeconds).toBe(15);
    expect(c.sync.bodyLimitBytes).toBe(50 * 1024 * 1024);
  });

  it('the shipped config/default.json is valid', () => {
    const c = loadConfig({ file: path.join(import.meta.dirname, '../../config/default.json'), env: {} });
    expect(c.server.port).toBe(8080);
  });

  it('environment wins over the file; FIELDHUB_<PATH> with __ between levels; JSON values', () => {
    const f = file('c.json', { server: { port: 9000 }, sync: { apiToken: 'from-file' } });
    const c = loadConfig({
      file: f,
      cwd: dir,
      env: {
        FIELDHUB_SYNC__API_TOKEN: '0123',
        FIELDHUB_PATRIOT__SMB__PORT: '1445',
        FIELDHUB_SYNC__PULL_NODES: '["http://127.0.0.1:1/"]',
        FIELDHUB_PUSH__ALLOW_UNKNOWN_DEVICES: 'false',
        FIELDHUB_HOST: '0.0.0.0',
        FIELDHUB_PORT: '8181',
        FIELDHUB_DATA_DIR: '/tmp/x-data',
      },
    });
    expect(c.sync.apiToken).toBe('0123'); // stays a string although it parses as JSON
    expect(c.patriot.smb.port).toBe(1445);
    expect(c.sync.pullNodes).toEqual(['http://127.0.0.1:1/']);
    expect(c.push.allowUnknownDevices).toBe(false);
    expect(c.server.host).toBe('0.0.0.0');
    expect(c.server.port).toBe(8181);
    expect(c.dataDir).toBe('/tmp/x-data');
  });

  it('FIELDHUB_CONFIG names the file; KEY_FILE and XML_DIR are honoured as the original does', () => {
    const f = file('env.json', { server: { port: 9100 } });
    const c = loadConfig({ env: { FIELDHUB_CONFIG: f, KEY_FILE: '/etc/keys.json', XML_DIR: '/srv/xml' }, cwd: dir });
    expect(c.server.port).toBe(9100);
    expect(c.patriot.keysFile).toBe('/etc/keys.json');
    expect(c.patriot.xmlDir).toBe('/srv/xml');
  });

  it.each([
    [{ FIELDHUB_PORT: 'abc' }, {}, /^invalid config: server\.port: /],
    [{ FIELDHUB_PORT: '70000' }, {}, /^invalid config: server\.port: /],
    [{ FIELDHUB_STORE__SYNCHRONOUS: 'SOMETIMES' }, {}, /^invalid config: store\.synchronous: /],
    [{ FIELDHUB_SYNC__API_TOKN: 'x' }, {}, /^invalid config: FIELDHUB_SYNC__API_TOKN names no config key/],
    [{}, { push: { maxAttempts: 0 } }, /^invalid config: push\.maxAttempts: /],
    [{}, { patriot: { import: { cron: 'every hour' } } }, /^invalid config: patriot\.import\.cron: /],
    [{}, { sync: { unknownKey: 1 } }, /^invalid config: sync: .*unknownKey/],
  ])('a bad value stops with one line naming the field (%o %o)', (env, body, re) => {
    const f = file('bad.json', body);
    let err: unknown;
    try {
      loadConfig({ file: f, env, cwd: dir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain('\n');
  });

  it('invalid JSON in the file is one clear line', () => {
    expect(() => loadConfig({ file: file('broken.json', '{"server": '), env: {} })).toThrow(/is not valid JSON/);
  });

  it('secrets come from *File keys; an unreadable one is a clear error', () => {
    const secret = file('admin.token', 's3cret\n');
    const c = loadConfig({
      file: file('s.json', { admin: { tokenFile: secret }, patriot: { smb: { passwordFile: secret } } }),
      env: {},
    });
    expect(c.admin.token).toBe('s3cret');
    expect(c.patriot.smb.password).toBe('s3cret');
    expect(() =>
      loadConfig({ file: file('s2.json', {}), env: { FIELDHUB_ADMIN__TOKEN_FILE: path.join(dir, 'missing') } }),
    ).toThrow(/^invalid config: admin\.tokenFile: cannot read .*missing \(ENOENT\)$/);
  });
});
