/**
 * Security: secrets are compared in constant time.
 *
 * 1. Runtime: the core's safeEqual and node:crypto's timingSafeEqual are wrapped in spies (vi.mock, the real
 *    function underneath) and a wrong credential is sent to every auth path that compares a secret
 *    (admin API, sync, patriot); each must have called timingSafeEqual on the SHA-256 of the presented
 *    value and of the configured secret, and sync and patriot through the core's safeEqual. Conduit stores only SHA-256 hashes of tokens and finds the user by the hash
 *    of the presented token (no comparison of the secret itself): checked on the database.
 * 2. Static: the TypeScript AST of every file under src/ has no ===, !==, ==, != and no string
 *    comparison method (equals, startsWith, endsWith, includes, indexOf, localeCompare) and no
 *    Map/Set lookup (get, has) whose operand names a secret (token, apiToken, .key, password,
 *    passphrase, secret, encryptionKey, given, expected, bearer), except against undefined / null / '' / a typeof, or on the
 *    SHA-256 of the value (hashToken(...)).
 */
import Database from 'better-sqlite3';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { safeEqual } from '../../src/core/auth.js';
import { makeApp, tempDir, type TestApp } from '../helpers/app.js';
import { PATRIOT_KEYS, ROOT, SECRETS } from './helpers/server.js';

// the real functions, observed: safeEqual (what modules call) and node:crypto's timingSafeEqual
// (what safeEqual calls; also catches the admin guard, which calls safeEqual inside auth.ts)
vi.mock('../../src/core/auth.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/core/auth.js')>();
  return { ...real, safeEqual: vi.fn(real.safeEqual) };
});
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual = vi.fn(real.timingSafeEqual);
  return { ...real, timingSafeEqual, default: { ...real, timingSafeEqual } };
});
const spy = vi.mocked(safeEqual);
const tse = vi.mocked(timingSafeEqual);
const sha = (s: string) => createHash('sha256').update(s).digest();
/** timingSafeEqual was called on the SHA-256 of the presented value and of the secret */
const comparedInConstantTime = (given: string, secret: string) =>
  tse.mock.calls.some(
    ([a, b]) => Buffer.from(a as Uint8Array).equals(sha(given)) && Buffer.from(b as Uint8Array).equals(sha(secret)),
  );

describe('every auth path compares the secret with the core safeEqual', () => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it('admin, sync (bearer and ?token=), patriot (every key)', async () => {
    const keysDir = tempDir();
    const keysFile = path.join(keysDir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify(PATRIOT_KEYS));
    t = await makeApp(
      { admin: { token: SECRETS.admin }, sync: { apiToken: SECRETS.sync }, patriot: { keysFile } },
      { startScheduler: false },
    );
    const wrong = 'wrong-credential-0123456789';
    const cases: Array<{ name: string; url: string; headers?: Record<string, string>; expected: string[] }> = [
      {
        name: 'admin',
        url: '/admin/push/devices',
        headers: { authorization: `Bearer ${wrong}` },
        expected: [SECRETS.admin],
      },
      {
        name: 'admin (conduit)',
        url: '/admin/conduit/users',
        headers: { authorization: `Bearer ${wrong}` },
        expected: [SECRETS.admin],
      },
      { name: 'sync bearer', url: '/sync', headers: { authorization: `Bearer ${wrong}` }, expected: [SECRETS.sync] },
      { name: 'sync ?token=', url: `/sync?token=${wrong}`, expected: [SECRETS.sync] },
      {
        name: 'patriot',
        url: '/clients',
        headers: { authorization: `Bearer ${wrong}`, 'x-client-id': '1' },
        expected: [SECRETS.patriotA, SECRETS.patriotB],
      },
    ];
    for (const c of cases) {
      spy.mockClear();
      tse.mockClear();
      const r = await t.app.inject({ url: c.url, headers: c.headers });
      expect(r.statusCode, c.name).toBeGreaterThanOrEqual(401);
      expect(r.statusCode, c.name).toBeLessThanOrEqual(403);
      for (const exp of c.expected) {
        expect(
          comparedInConstantTime(wrong, exp),
          `${c.name}: timingSafeEqual(sha256(given), sha256(${exp.slice(0, 8)}…))`,
        ).toBe(true);
        // the modules call the core's safeEqual (the admin guard calls it inside auth.ts, seen above through timingSafeEqual)
        if (!c.name.startsWith('admin'))
          expect(spy.mock.calls, `${c.name}: safeEqual(given, ${exp.slice(0, 8)}…)`).toContainEqual([wrong, exp]);
      }
    }
    // the right secrets pass through the same function
    spy.mockClear();
    expect(
      (await t.app.inject({ url: '/admin/push/devices', headers: { authorization: `Bearer ${SECRETS.admin}` } }))
        .statusCode,
    ).toBe(200);
    expect(
      (await t.app.inject({ url: '/sync', headers: { authorization: `Bearer ${SECRETS.sync}` } })).statusCode,
    ).toBe(200);
    expect(spy.mock.results.some((x) => x.value === true)).toBe(true);
  });

  it('conduit keeps only SHA-256 hashes of tokens and looks users up by the hash', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/admin/conduit/users',
      headers: { authorization: `Bearer ${SECRETS.admin}` },
      payload: { name: 'ct', token: SECRETS.conduit, sites: ['S'] },
    });
    expect(r.statusCode).toBe(201);
    spy.mockClear();
    expect((await t.app.inject({ url: '/conduitv6', headers: { 'x-api-key': SECRETS.conduit } })).statusCode).toBe(304);
    expect(
      (await t.app.inject({ url: '/conduitv6', headers: { 'x-api-key': `${SECRETS.conduit}x` } })).statusCode,
    ).toBe(401);
    // the SQLite file, or on PostgreSQL the app's database
    let rows: unknown[];
    if (t.app.pg) rows = (await t.app.pg.query('SELECT * FROM conduit_users')).rows;
    else {
      const db = new Database(t.app.store.file, { readonly: true });
      rows = db.prepare('SELECT * FROM conduit_users').all();
      db.close();
    }
    expect(JSON.stringify(rows)).not.toContain(SECRETS.conduit);
    expect(JSON.stringify(rows)).toMatch(/"token_hash":"[0-9a-f]{64}"/);
  });

  it('safeEqual itself: equal only for the same non-empty secret, whatever the lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(false);
    expect(safeEqual(undefined, 'x')).toBe(false);
    expect(safeEqual('x', undefined)).toBe(false);
  });
});

describe('static check of src/: no secret compared with ===, string methods or map lookups', () => {
  /** identifiers and property names that hold a secret (a bare `key` is a key_name in this code base; `.key` is the patriot secret) */
  const SECRET = /^(token|apiToken|given|expected|password|passphrase|secret|encryptionKey|bearer)$/i;
  const SECRET_PROP = /^(token|apiToken|key|password|passphrase|secret|encryptionKey)$/i;
  const SAFE_OPERAND = /^(undefined|null|''|""|``)$/;
  const COMPARE_METHODS = new Set([
    'equals',
    'startsWith',
    'endsWith',
    'includes',
    'indexOf',
    'localeCompare',
    'get',
    'has',
  ]);

  /** the identifier a secret-bearing operand ends in: `token`, `cfg.apiToken`, `k.key`, `opts.password` */
  function secretName(e: ts.Expression): string | undefined {
    let x: ts.Expression = e;
    while (ts.isParenthesizedExpression(x) || ts.isNonNullExpression(x) || ts.isAsExpression(x)) x = x.expression;
    if (ts.isIdentifier(x) && SECRET.test(x.text)) return x.text;
    if (ts.isPropertyAccessExpression(x) && SECRET_PROP.test(x.name.text)) return x.getText();
    return undefined;
  }

  function files(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  }

  it('finds no such comparison (and would find one)', () => {
    const findings: string[] = [];
    const scan = (file: string, text: string) => {
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      const visit = (n: ts.Node) => {
        if (ts.isBinaryExpression(n)) {
          const op = n.operatorToken.kind;
          if (
            [
              ts.SyntaxKind.EqualsEqualsEqualsToken,
              ts.SyntaxKind.ExclamationEqualsEqualsToken,
              ts.SyntaxKind.EqualsEqualsToken,
              ts.SyntaxKind.ExclamationEqualsToken,
            ].includes(op)
          ) {
            const other = (e: ts.Expression) => (e === n.left ? n.right : n.left);
            for (const side of [n.left, n.right]) {
              const s = secretName(side);
              const o = other(side);
              if (s && !SAFE_OPERAND.test(o.getText()) && !ts.isTypeOfExpression(o) && !ts.isTypeOfExpression(side)) {
                findings.push(
                  `${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${n.getText()}`,
                );
                break; // one finding per comparison
              }
            }
          }
        }
        if (
          ts.isCallExpression(n) &&
          ts.isPropertyAccessExpression(n.expression) &&
          COMPARE_METHODS.has(n.expression.name.text)
        ) {
          const receiver = secretName(n.expression.expression);
          const arg = n.arguments.map((a) => secretName(a)).find(Boolean);
          if (receiver || arg)
            findings.push(
              `${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${n.getText()}`,
            );
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    };
    const all = files(path.join(ROOT, 'src'));
    expect(all.length).toBeGreaterThan(40);
    for (const f of all) scan(f, readFileSync(f, 'utf8'));
    expect(findings).toEqual([]);

    // the check catches the usual mistakes
    const before = findings.length;
    scan(
      'probe.ts',
      'if (bearerToken(req) === cfg.apiToken) ok(); if (token !== expected) no(); if (k.key.startsWith(given)) x(); if (byToken.get(token)) y();',
    );
    expect(findings.length - before).toBe(4);
    // and lets through what is not a secret comparison
    scan(
      'probe2.ts',
      'if (token === undefined) a(); if (typeof token !== "string") b(); byHash.get(hashToken(token)); if (key_name === x) c();',
    );
    expect(findings.length - before).toBe(4);
  });
});
