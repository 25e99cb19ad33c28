/**
 * A fuzz request and the building blocks of the generators: credentials (right, wrong, another
 * module's), mutations of a valid body, body encodings (JSON, form, multipart, gzip, bomb).
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { ADMIN_TOKEN, CONDUIT_TOKEN, PATRIOT_KEY, SYNC_TOKEN } from './sandbox.js';
import { anyBodyText, anyContentType, anyJson, anyNumberish, anyString, pct, randomHeaders } from './values.js';

export interface FuzzRequest {
  method: string;
  /** path and query, already encoded */
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

export type Cred = 'sync' | 'conduit' | 'patriot' | 'admin' | 'none';

const CREDS: Record<Exclude<Cred, 'none'>, Array<(h: Record<string, string>) => string | void>> = {
  sync: [(h) => void (h.authorization = `Bearer ${SYNC_TOKEN}`), () => `token=${SYNC_TOKEN}`],
  conduit: [
    (h) => void (h['x-api-key'] = CONDUIT_TOKEN),
    (h) => void (h.token = CONDUIT_TOKEN),
    () => `token=${CONDUIT_TOKEN}`,
  ],
  patriot: [(h) => void (h.authorization = `Bearer ${PATRIOT_KEY}`)],
  admin: [(h) => void (h.authorization = `Bearer ${ADMIN_TOKEN}`)],
};
const ALL_TOKENS = [SYNC_TOKEN, CONDUIT_TOKEN, PATRIOT_KEY, ADMIN_TOKEN];

/** Credentials for a request: the route's own (85%), another module's, garbage or none. Returns a query part or ''. */
export function credsArb(own: Cred): fc.Arbitrary<(h: Record<string, string>) => string> {
  const right = own === 'none' ? [] : CREDS[own].map((f) => fc.constant((h: Record<string, string>) => f(h) ?? ''));
  const wrong = fc.oneof(
    fc.constantFrom(...ALL_TOKENS).map((t) => (h: Record<string, string>) => ((h.authorization = `Bearer ${t}`), '')),
    fc.constantFrom(...ALL_TOKENS).map((t) => (h: Record<string, string>) => ((h['x-api-key'] = t), `token=${pct(t)}`)),
    fc
      .string({ unit: 'grapheme-ascii', maxLength: 60 })
      .map((t) => (h: Record<string, string>) => ((h.authorization = `Bearer ${t.replace(/[\r\n\0]/g, '')}`), '')),
    fc.constant(() => ''),
  );
  if (!right.length) return wrong;
  return fc.oneof({ weight: 17, arbitrary: fc.oneof(...right) }, { weight: 3, arbitrary: wrong });
}

/** A mutation of a valid object: kept (valid), a field replaced by anything, removed, or an extra field. */
export function mutated<T extends Record<string, unknown>>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: valid },
    {
      weight: 4,
      arbitrary: fc.tuple(valid, fc.nat(), fc.oneof(anyJson, anyString, anyNumberish)).map(([o, i, v]) => {
        const keys = Object.keys(o);
        return keys.length ? { ...o, [keys[i % keys.length]!]: v } : o;
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat()).map(([o, i]) => {
        const keys = Object.keys(o);
        const c: Record<string, unknown> = { ...o };
        if (keys.length) delete c[keys[i % keys.length]!];
        return c;
      }),
    },
    { weight: 1, arbitrary: fc.tuple(valid, anyString, anyJson).map(([o, k, v]) => ({ ...o, [k]: v })) },
    { weight: 1, arbitrary: anyJson },
  );
}

export interface BodyFuzz {
  payload?: string | Buffer;
  headers: Record<string, string>;
}

// 50 MB of zeros: ~50 KB of gzip, a bomb for any body limit here
const BOMB = gzipSync(Buffer.alloc(50 * 1024 * 1024));
const GZIP_OF = (s: string) => gzipSync(Buffer.from(s, 'utf8'));

/** A JSON body of `value` as a client would send it, or with a wrong type/encoding, or raw garbage. */
export function jsonBody(value: fc.Arbitrary<unknown>, opts: { gzip?: boolean } = {}): fc.Arbitrary<BodyFuzz> {
  const text = value.map((v) => JSON.stringify(v) ?? 'null');
  const arbs: Array<fc.WeightedArbitrary<BodyFuzz>> = [
    { weight: 12, arbitrary: text.map((t) => ({ payload: t, headers: { 'content-type': 'application/json' } })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(text, anyContentType)
        .map(([t, ct]): BodyFuzz => ({ payload: t, headers: ct === undefined ? {} : { 'content-type': ct } })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(anyBodyText, anyContentType)
        .map(([t, ct]) => ({ payload: t, headers: { 'content-type': ct ?? 'application/json' } })),
    },
    { weight: 1, arbitrary: fc.constant({ headers: {} }) },
  ];
  if (opts.gzip) {
    arbs.push(
      {
        weight: 2,
        arbitrary: text.map((t) => ({
          payload: GZIP_OF(t),
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        })),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(text, fc.double({ min: 0, max: 0.99, noNaN: true })).map(([t, f]) => {
          const g = GZIP_OF(t);
          return {
            payload: g.subarray(0, Math.floor(g.length * f)),
            headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          };
        }),
      },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('gzip', 'x-gzip')
          .map((e) => ({ payload: BOMB, headers: { 'content-type': 'application/json', 'content-encoding': e } })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(text, fc.constantFrom('deflate', 'br', 'gzip, deflate', 'identity', 'GZIP', 'compress'))
          .map(([t, e]) => ({ payload: t, headers: { 'content-type': 'application/json', 'content-encoding': e } })),
      },
    );
  }
  return fc.oneof(...arbs);
}

/** A form body of string fields: urlencoded or multipart (fields or file parts), or JSON. */
export function formBody(fields: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BodyFuzz> {
  const enc = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  const fieldsObj = fields.map((f): Record<string, unknown> =>
    f !== null && typeof f === 'object' && !Array.isArray(f) ? f : { data: f },
  );
  const urlencoded = fieldsObj.map((f) => ({
    payload: Object.entries(f)
      .map(([k, v]) => `${pct(k)}=${pct(enc(v))}`)
      .join('&'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  }));
  const multipart = fc.tuple(fieldsObj, fc.boolean(), fc.boolean()).map(([f, asFiles, truncate]) => {
    const b = 'fuzzboundary7MA4YWxkTrZu0gW';
    let body = '';
    for (const [k, v] of Object.entries(f)) {
      const file = asFiles
        ? `; filename="${enc(v)
            .slice(0, 20)
            .replace(/["\r\n]/g, '')}"`
        : '';
      body += `--${b}\r\nContent-Disposition: form-data; name="${k.replace(/["\r\n]/g, '')}"${file}\r\n\r\n${enc(v)}\r\n`;
    }
    body += `--${b}--\r\n`;
    const buf = Buffer.from(body, 'utf8');
    return {
      payload: truncate ? buf.subarray(0, Math.floor(buf.length / 2)) : buf,
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
    };
  });
  return fc.oneof(
    { weight: 4, arbitrary: urlencoded },
    { weight: 2, arbitrary: multipart },
    { weight: 1, arbitrary: jsonBody(fields) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(anyBodyText, anyContentType)
        .map(([t, ct]): BodyFuzz => ({ payload: t, headers: ct === undefined ? {} : { 'content-type': ct } })),
    },
  );
}

/** Assembles a request from its parts; random extra headers in a quarter of the cases. */
export function request(
  method: string,
  path: fc.Arbitrary<string>,
  query: fc.Arbitrary<string>,
  cred: Cred,
  body?: fc.Arbitrary<BodyFuzz>,
  extraHeaders: fc.Arbitrary<Record<string, string>> = fc.constant({}),
): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(
      path,
      query,
      credsArb(cred),
      body ?? fc.constant<BodyFuzz>({ headers: {} }),
      extraHeaders,
      fc.option(randomHeaders, { freq: 3 }),
    )
    .map(([p, q, c, b, eh, rh]) => {
      const headers: Record<string, string> = { ...(rh ?? {}), ...eh, ...b.headers };
      const cq = c(headers);
      const qs = [q, cq].filter(Boolean).join('&');
      return { method, url: qs ? `${p}?${qs}` : p, headers, payload: b.payload };
    });
}
