/**
 * The raw-bytes part of the fuzz: a real fieldhub server in a child process (bench/fieldhub-server.ts),
 * requests written byte by byte on node:net sockets: invalid UTF-8 in bodies, paths, queries and
 * headers; truncated bodies; Content-Length too long or too short; broken chunked encoding; bomb
 * and truncated gzip. The process must stay alive, answer /healthz, never write outside its data
 * dir, and have no uncaught exception on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type fcType from 'fast-check';
import { expect } from 'vitest';
import {
  ADMIN_TOKEN,
  CONDUIT_SITE,
  CONDUIT_TOKEN,
  escapesOf,
  makeSandbox,
  markerFilesOutside,
  PATRIOT_KEY,
  snapshot,
  snapshotDiff,
  SYNC_TOKEN,
} from './sandbox.js';
import { groupOf, shapeProblem, type Group } from './shapes.js';
import { SEED } from './runner.js';
import { MARK } from './values.js';

export const socketCounts: Partial<Record<Group, number>> = {};
/** per kind of raw case: how many, and how many got an answer (the rest: the server closed or waited for bytes that never came) */
export const socketKinds: Record<string, { cases: number; answered: number }> = {};

interface RawAnswer {
  status?: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `bytes` (optionally half-closing), reads the first answer; none when the server just closes. */
function rawRequest(port: number, bytes: Buffer, halfClose: boolean, waitMs = 1500): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1');
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(finish, waitMs);
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('data', (c) => {
      chunks.push(c);
      const a = parse(Buffer.concat(chunks));
      if (a.status !== undefined && a.complete) finish();
    });
    sock.write(bytes, () => {
      if (halfClose) sock.end();
    });
  });
}

function parse(buf: Buffer): RawAnswer & { complete: boolean } {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { headers: {}, body: '', complete: false };
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = buf.subarray(end + 4);
  let complete = false;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    complete = rest.length >= n;
    rest = rest.subarray(0, n);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    let off = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', off);
      if (nl < 0) break;
      const size = parseInt(rest.subarray(off, nl).toString('latin1'), 16);
      if (size === 0) {
        complete = true;
        break;
      }
      if (nl + 2 + size > rest.length) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      off = nl + 2 + size + 2;
    }
    rest = Buffer.concat(parts);
  } else {
    complete = status === 304 || status === 204;
  }
  return { status: Number.isFinite(status) ? status : undefined, headers, body: rest.toString('utf8'), complete };
}

const B = (s: string) => Buffer.from(s, 'latin1');
const BAD_UTF8 = [
  '\xff',
  '\xfe\xff',
  '\xc3\x28',
  '\xa0\xa1',
  '\xe2\x28\xa1',
  '\xe2\x82',
  '\xf0\x28\x8c\xbc',
  '\xf8\xa1\xa1\xa1\xa1',
  '\xc0\xaf',
  '\xed\xa0\x80',
  '\xef\xbf\xbe',
  '\x00',
  '\xc0\x80',
];

interface Target {
  method: string;
  path: string;
  auth: string;
  contentType: string;
  body: string;
}

const TARGETS: Target[] = [
  {
    method: 'PUT',
    path: '/clients',
    auth: `Authorization: Bearer ${PATRIOT_KEY}`,
    contentType: 'application/json',
    body: '{"client_id":1,"info":{"Name":"Ab@cd"}}',
  },
  {
    method: 'POST',
    path: '/clients/users',
    auth: `Authorization: Bearer ${PATRIOT_KEY}`,
    contentType: 'application/json',
    body: '{"client_id":1,"user":{"User_Name":"U@x","UserNo":2}}',
  },
  {
    method: 'POST',
    path: '/conduitv6',
    auth: `X-Api-Key: ${CONDUIT_TOKEN}`,
    contentType: 'application/json',
    body: '[{"dev_netid":"A1","dev_chid":1,"val_date":1700000000,"val_raw":1,"dev_tag":"t@g","dev_site":"site-a"}]',
  },
  {
    method: 'POST',
    path: '/sync',
    auth: `Authorization: Bearer ${SYNC_TOKEN}`,
    contentType: 'application/x-www-form-urlencoded',
    body: 'node_name=n1&plugin=SYNC&data=%7B%22data%22%3A%5B%7B%22devMac%22%3A%22aa%3Abb%22%2C%22devName%22%3A%22d%40x%22%7D%5D%7D',
  },
  {
    method: 'POST',
    path: '/result?deviceId=77',
    auth: 'X-Nothing: 1',
    contentType: 'application/json',
    body: '{"response":{"ok":"y@s"}}',
  },
  {
    method: 'POST',
    path: '/admin/push/commands',
    auth: `Authorization: Bearer ${ADMIN_TOKEN}`,
    contentType: 'application/json',
    body: '{"deviceIds":["77"],"endpoint":"load@objects"}',
  },
  {
    method: 'POST',
    path: '/admin/conduit/users',
    auth: `Authorization: Bearer ${ADMIN_TOKEN}`,
    contentType: 'application/json',
    body: '{"name":"u@x","sites":["s@x"]}',
  },
];

const head = (t: Target, len: number | string, extra = '') =>
  `${t.method} ${t.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${t.auth}\r\nContent-Type: ${t.contentType}\r\nContent-Length: ${len}\r\n${extra}\r\n`;

export interface RawCase {
  kind: string;
  method: string;
  path: string;
  bytes: Buffer;
  halfClose: boolean;
}

function cases(fc: typeof fcType): fcType.Arbitrary<RawCase> {
  const target = fc.constantFrom(...TARGETS);
  const bad = fc.constantFrom(...BAD_UTF8);
  const rc = (kind: string, t: { method: string; path: string }, bytes: Buffer, halfClose = false): RawCase => ({
    kind,
    method: t.method,
    path: t.path,
    bytes,
    halfClose,
  });
  return fc.oneof(
    // invalid UTF-8 in the body (the '@' in each sample body marks a spot inside a string value)
    fc.tuple(target, bad, fc.boolean()).map(([t, b, inString]) => {
      const body = B(inString ? t.body.replace('@', b) : b + t.body);
      return rc('utf8-body', t, Buffer.concat([B(head(t, body.length)), body]));
    }),
    // invalid UTF-8 in the path or query
    fc
      .tuple(
        fc.constantFrom(
          '/sync/devices?node=',
          '/push?deviceId=1',
          '/clients/',
          '/conduitv6?id=',
          '/admin/push/commands/',
          '/docs/static/',
          '/sync/',
          '/x',
        ),
        bad,
      )
      .map(([p, b]) => {
        const t = { method: 'GET', path: p.split('?')[0]! };
        const auth = p.startsWith('/sync')
          ? `Authorization: Bearer ${SYNC_TOKEN}`
          : p.startsWith('/admin')
            ? `Authorization: Bearer ${ADMIN_TOKEN}`
            : p.startsWith('/conduitv6')
              ? `X-Api-Key: ${CONDUIT_TOKEN}`
              : `Authorization: Bearer ${PATRIOT_KEY}`;
        return rc('utf8-url', t, B(`GET ${p}${b}${MARK} HTTP/1.1\r\nHost: x\r\n${auth}\r\n\r\n`));
      }),
    // invalid UTF-8 in header values the modules read
    fc
      .tuple(
        fc.constantFrom(
          'X-Client-Id',
          'X-User-No',
          'Authorization',
          'X-Api-Key',
          'Token',
          'X-Http-Method-Override',
          'Content-Encoding',
        ),
        bad,
        fc.constantFrom('/clients', '/clients/users/single', '/conduitv6', '/sync/devices', '/admin/push/devices'),
      )
      .map(([h, b, p]) =>
        rc(
          'utf8-header',
          { method: 'GET', path: p },
          B(`GET ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${PATRIOT_KEY}\r\n${h}: 1${b}\r\n\r\n`),
        ),
      ),
    // truncated body: Content-Length larger than what is sent, then the client half-closes
    fc
      .tuple(target, fc.double({ min: 0, max: 0.95, noNaN: true }), fc.integer({ min: 1, max: 100_000 }))
      .map(([t, f, extra]) => {
        const body = B(t.body);
        return rc(
          'truncated',
          t,
          Buffer.concat([B(head(t, body.length + extra)), body.subarray(0, Math.floor(body.length * f))]),
          true,
        );
      }),
    // Content-Length shorter than the body: the rest is read as the next request
    fc.tuple(target, fc.integer({ min: 1, max: 20 })).map(([t, k]) => {
      const body = B(t.body);
      return rc('short-length', t, Buffer.concat([B(head(t, Math.max(0, body.length - k))), body]), true);
    }),
    // broken Content-Length / Transfer-Encoding
    fc
      .tuple(target, fc.constantFrom('-1', '1e3', ' 5', '0x10', '99999999999999999999', '5, 6', 'abc'))
      .map(([t, len]) => rc('bad-length', t, Buffer.concat([B(head(t, len)), B(t.body)]), true)),
    fc
      .tuple(
        target,
        fc.constantFrom(
          'zz\r\nx\r\n0\r\n\r\n',
          '5\r\nab\r\n0\r\n\r\n',
          'ffffffffffffffff\r\nx',
          '3\r\nabc\r\n',
          '-1\r\n\r\n',
        ),
      )
      .map(([t, chunks]) =>
        rc(
          'bad-chunked',
          t,
          B(
            `${t.method} ${t.path} HTTP/1.1\r\nHost: x\r\n${t.auth}\r\nContent-Type: ${t.contentType}\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`,
          ),
          true,
        ),
      ),
    fc
      .tuple(target)
      .map(([t]) =>
        rc(
          'length-and-chunked',
          t,
          B(
            `${t.method} ${t.path} HTTP/1.1\r\nHost: x\r\n${t.auth}\r\nContent-Type: ${t.contentType}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
          ),
          true,
        ),
      ),
    // gzip: a bomb, truncated, or with a wrong length, to the gzip-reading route and to the others
    fc
      .tuple(
        target,
        fc.constantFrom('bomb', 'truncated', 'garbage', 'short-length'),
        fc.double({ min: 0.1, max: 0.9, noNaN: true }),
      )
      .map(([t, kind, f]) => {
        const z = kind === 'bomb' ? BOMB : kind === 'garbage' ? B('\x1f\x8b\x08\x00garbage') : gzipSync(B(t.body));
        const body = kind === 'truncated' ? z.subarray(0, Math.floor(z.length * f)) : z;
        const len = kind === 'short-length' ? Math.floor(body.length * f) : body.length;
        return rc(
          `gzip-${kind}`,
          t,
          Buffer.concat([B(head(t, len, 'Content-Encoding: gzip\r\n')), body]),
          kind === 'short-length',
        );
      }),
    // a declared body over the route's limit (sync 50 MB, conduit 5 MB, patriot 256 KB, core 5 MB): refused early
    fc
      .tuple(target, fc.constantFrom(256 * 1024 + 1, 5 * 1024 * 1024 + 1, 50 * 1024 * 1024 + 1, 2 ** 53))
      .map(([t, len]) => rc('oversize-declared', t, Buffer.concat([B(head(t, len)), B(t.body)]), true)),
    // Expect: 100-continue, then the body (or not)
    fc.tuple(target, fc.boolean()).map(([t, send]) => {
      const body = B(t.body);
      return rc(
        'expect-continue',
        t,
        Buffer.concat([B(head(t, body.length, 'Expect: 100-continue\r\n')), send ? body : Buffer.alloc(0)]),
        true,
      );
    }),
    // invalid UTF-8 inside a multipart part (field and file) to the hub
    fc.tuple(bad, fc.boolean()).map(([b, file]) => {
      const t = TARGETS[3]!;
      const bd = 'zzBOUNDARYzz';
      const disp = (n: string) =>
        `Content-Disposition: form-data; name="${n}"${file ? `; filename="${n}${b}.txt"` : ''}`;
      const body = B(
        `--${bd}\r\n${disp('node_name')}\r\n\r\nn1\r\n--${bd}\r\n${disp('plugin')}\r\n\r\nSYNC\r\n--${bd}\r\n${disp('data')}\r\n\r\n{"data":[{"devMac":"aa:bb","devName":"x${b}y"}]}\r\n--${bd}--\r\n`,
      );
      const t2 = { ...t, contentType: `multipart/form-data; boundary=${bd}` };
      return rc('utf8-multipart', t2, Buffer.concat([B(head(t2, body.length)), body]));
    }),
    // headers too big, a request line too long
    fc
      .constantFrom(20_000, 70_000)
      .map((n) =>
        rc(
          'huge-header',
          { method: 'GET', path: '/healthz' },
          B(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(n)}\r\n\r\n`),
        ),
      ),
  );
}
const BOMB = gzipSync(Buffer.alloc(50 * 1024 * 1024));

/** Fastify's own answer to a request Node could not parse (before any route): core shape, 400/408/431. */
function isClientError(a: RawAnswer): boolean {
  try {
    const v = JSON.parse(a.body) as { statusCode?: number; message?: string };
    return (
      [400, 408, 431].includes(a.status!) &&
      v.statusCode === a.status &&
      /Client Error|Client Timeout|header size/.test(v.message ?? '')
    );
  } catch {
    return false;
  }
}

async function startChild(
  overrides: Record<string, unknown>,
): Promise<{ child: ChildProcess; port: number; stderr: () => string; stdout: () => string }> {
  const root = path.resolve(import.meta.dirname, '..', '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/fieldhub-server.ts'], {
    cwd: root,
    env: { ...process.env, FIELDHUB_BENCH_CONFIG: JSON.stringify(overrides) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  return { child, port, stderr: () => err, stdout: () => out };
}

export async function runSocketFuzz(fc: typeof fcType, runs: number): Promise<void> {
  const box = makeSandbox();
  const srv = await startChild(box.overrides);
  try {
    const before = snapshot(box.parent, box.dataDir);
    const user = await fetch(`http://127.0.0.1:${srv.port}/admin/conduit/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'fuzzuser-main', token: CONDUIT_TOKEN, sites: [CONDUIT_SITE], throttleSeconds: 0 }),
    });
    expect(user.status).toBe(201);
    await fc.assert(
      fc.asyncProperty(cases(fc), async (c) => {
        const group = groupOf(c.method, c.path);
        socketCounts[group] = (socketCounts[group] ?? 0) + 1;
        const a = await rawRequest(srv.port, c.bytes, c.halfClose);
        const k = (socketKinds[c.kind] ??= { cases: 0, answered: 0 });
        k.cases++;
        if (a.status !== undefined) k.answered++;
        const show = () =>
          `${c.kind} ${c.method} ${c.path}: ${a.status} ${a.body.slice(0, 300)}\n  bytes: ${JSON.stringify(c.bytes.subarray(0, 400).toString('latin1'))}`;
        if (srv.child.exitCode !== null)
          throw new Error(`server exited (${srv.child.exitCode}) after ${show()}\n${srv.stderr()}`);
        if (a.status === undefined) return; // the server closed the connection without an answer (e.g. half a body)
        if (a.status >= 500) throw new Error(`5xx: ${show()}`);
        const problem = isClientError(a)
          ? undefined
          : shapeProblem(group, { status: a.status, headers: a.headers, body: a.body });
        if (problem) throw new Error(`wrong error format for ${group}: ${problem}: ${show()}`);
      }),
      { numRuns: runs, seed: SEED, endOnFailure: true },
    );
    const h = await fetch(`http://127.0.0.1:${srv.port}/healthz`);
    expect(h.status).toBe(200);
    expect(srv.child.exitCode).toBeNull();
    expect(srv.stderr()).not.toMatch(/uncaught|unhandled|Error:/i);
    const bad = srv
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg?: string })
      .filter((l) => l.level >= 50);
    expect(bad, 'error/fatal log lines of the server').toEqual([]);
    expect(snapshotDiff(before, snapshot(box.parent, box.dataDir))).toEqual([]);
    expect(escapesOf(box.dataDir)).toEqual([]);
    expect(markerFilesOutside(box.dataDir)).toEqual([]);
  } finally {
    srv.child.kill('SIGTERM');
    await new Promise((r) => (srv.child.exitCode !== null ? r(null) : srv.child.once('exit', r)));
    box.cleanup();
  }
}
