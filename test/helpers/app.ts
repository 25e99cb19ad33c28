/**
 * Test helpers: a fresh data dir per test, the real app factory, real listening servers,
 * and the log lines the app wrote.
 */
import type { FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { onTestFinished } from 'vitest';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { loadConfig, type Config, type ConfigInput } from '../../src/config.js';
import { onPostgres, pgUrlFor } from './driver.js';

export function tempDir(prefix = 'fieldhub-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Config for a test: defaults, data dir in a temp folder, no config file, no environment. */
export function testConfig(overrides: ConfigInput | Record<string, unknown> = {}, dataDir = tempDir()): Config {
  const config = loadConfig({
    file: path.join(import.meta.dirname, 'empty-config.json'),
    env: {},
    overrides: { dataDir, server: { logLevel: 'info' }, admin: { token: 'admin-secret-token' }, ...overrides },
  });
  // the PostgreSQL run (vitest.pg.config.ts): the data dir's own database, unless the test chose a store
  const chosen = (overrides as { store?: { driver?: string } }).store?.driver;
  if (onPostgres && chosen === undefined) {
    config.store = { ...config.store, driver: 'postgres', url: pgUrlFor(config.dataDir) };
  }
  return config;
}

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    for (const l of chunk.toString('utf8').split('\n')) if (l) this.lines.push(l);
    cb();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  json(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  logs: LogCapture;
  /** base URL once listen() was called */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function makeApp(
  overrides: ConfigInput | Record<string, unknown> = {},
  opts: BuildOptions & { dataDir?: string; keepDataDir?: boolean } = {},
): Promise<TestApp> {
  const config = testConfig(overrides, opts.dataDir);
  const logs = new LogCapture();
  const app = await buildApp(config, { logStream: logs, defaultMetrics: false, ...opts });
  const t: TestApp = {
    app,
    config,
    logs,
    url: '',
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const addr = app.server.address();
      if (!addr || typeof addr === 'string') throw new Error('no address');
      t.url = `http://127.0.0.1:${addr.port}`;
      return t.url;
    },
    async close() {
      await app.close();
      if (!opts.keepDataDir && !opts.dataDir) rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/**
 * The app of one test, closed (and its data dir removed) when the test finishes, pass or fail
 * (as fastify/demo's build(t)). Use it inside a test instead of `let t; afterEach(close)`.
 */
export async function build(
  overrides: ConfigInput | Record<string, unknown> = {},
  opts: BuildOptions & { dataDir?: string; keepDataDir?: boolean } = {},
): Promise<TestApp> {
  return closesItself(await makeApp(overrides, opts));
}

/** Closes `t` when the current test finishes (pass or fail). */
export function closesItself<T extends { close(): Promise<void> }>(t: T): T {
  onTestFinished(() => t.close());
  return t;
}

export const ADMIN = { authorization: 'Bearer admin-secret-token' };

/** GET over a fresh http.request (not fetch, so no client pooling hides the server's behaviour); resolves "<status> <body>". */
export function rawGet(port: string | number, urlPath: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: urlPath }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => (s += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${s}`));
    })
      .on('error', reject)
      .end();
  });
}
