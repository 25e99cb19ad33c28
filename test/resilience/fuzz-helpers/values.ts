/**
 * Hostile values for the bad-input fuzz suite: strings (path traversal, XML breakers, control
 * characters, lone surrogates, huge), numbers (out of range, int64 edges, not numbers), JSON
 * (random, deeply nested, wrong types), header values and query strings.
 */
import fc from 'fast-check';

/** Every name a fuzz case may turn into a file name carries this marker, so an escape can be found anywhere. */
export const MARK = 'fzmark';

export const TRAVERSAL = [
  `../../${MARK}`,
  `../../../../../${MARK}`,
  `..\\..\\${MARK}`,
  `..\\${MARK}`,
  `%2e%2e/%2e%2e/${MARK}`,
  `%2e%2e%2f${MARK}`,
  `..%2f..%2f${MARK}`,
  `..%5c${MARK}`,
  `/tmp/${MARK}`,
  `/etc/passwd`,
  `C:\\Windows\\${MARK}`,
  `\\\\server\\share\\${MARK}`,
  `${MARK}\0.xml`,
  `\0`,
  `./${MARK}`,
  `.${MARK}`,
  `-${MARK}`,
  `${MARK}/../../..`,
  `....//....//${MARK}`,
  `~/${MARK}`,
  `..`,
  `.`,
  `${MARK}%00`,
  `${MARK}\u2215..\u2215x`, // division slash
  `${MARK}\uff0e\uff0e/x`, // full-width dots
];

export const XML_BREAKERS = [
  '<',
  '>',
  '&',
  '"',
  "'",
  ']]>',
  '<![CDATA[x]]>',
  '</Row></Clients><Clients>',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
  '&amp;&lt;&#0;&#xD800;',
  '\u0000',
  '\u0001\u0008\u000b\u000c\u001f',
  '\r\n\r',
  '\ud800',
  '\udfff',
  '\ud83d', // lone high surrogate of an emoji
  '\ufffe\uffff',
  '\u2028\u2029',
  '\u202e', // right-to-left override
  '😀',
  'ä\u0308',
  '%00',
  '%ff%fe',
  '${jndi:ldap://x}',
  "' OR 1=1 --",
  '"; DROP TABLE x; --',
  '\\',
  '\t',
  ' ',
  '',
];

/** int64 and int32 edges, out-of-range and not-quite-integers, as JSON numbers and as text. */
export const NUMBER_TEXTS = [
  '0',
  '-0',
  '1',
  '-1',
  '2147483647',
  '2147483648',
  '-2147483648',
  '-2147483649',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999999999999999999999',
  '00000000000000000000001',
  '+1',
  '1e3',
  '1E309',
  '-1e309',
  '1.5',
  '0.1',
  '1.',
  '.1',
  '0x10',
  '0b1',
  '0o7',
  '1_000',
  ' 12 ',
  '\t7\n',
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'true',
  '١٢', // Arabic-Indic digits
  '１２', // full-width digits
  '',
  '-',
  '--1',
  '1-',
];

export const NUMBERS: unknown[] = [
  0,
  -0,
  1,
  -1,
  199,
  999,
  1000,
  2147483647,
  2147483648,
  -2147483648,
  4294967296,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  -Number.MAX_SAFE_INTEGER - 1,
  // eslint-disable-next-line no-loss-of-precision -- on purpose: int64 limits, past what a double carries exactly
  9223372036854775807,
  -9223372036854775808,
  1e11,
  1e11 + 1,
  1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  Number.EPSILON,
  0.5,
  1.5,
  -0.5,
];

export const hugeString = fc
  .tuple(
    fc.constantFrom('A', 'é', '😀', '<', '%', '\u0000', '0', ' '),
    fc.constantFrom(1_000, 10_000, 100_000, 300_000),
  )
  .map(([c, n]) => c.repeat(n));

/** lone surrogates and other UTF-16 that is not valid Unicode */
const loneSurrogates = fc.string({
  unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 4,
});

/** a string that may be anything: random, full Unicode, control characters, the lists above, huge */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...TRAVERSAL) },
  { weight: 3, arbitrary: fc.constantFrom(...XML_BREAKERS) },
  { weight: 3, arbitrary: fc.constantFrom(...NUMBER_TEXTS) },
  { weight: 1, arbitrary: loneSurrogates },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), maxLength: 8 }),
  },
  { weight: 1, arbitrary: hugeString },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...XML_BREAKERS, ...TRAVERSAL), fc.string({ maxLength: 10 }))
      .map(([a, b]) => `${b}${a}${b}`),
  },
);

/** a short name-like string: what a client would put in node_name, plugin, user names, ids */
export const anyName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRAVERSAL) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) },
  { weight: 2, arbitrary: anyString },
);

/** numbers as JSON values: edges, random doubles, big integers, or text that looks like a number */
export const anyNumberish: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NUMBERS),
  fc.double({ noNaN: true }),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => Number(b)),
  fc.constantFrom(...NUMBER_TEXTS),
);

/** a deeply nested JSON text (arrays or objects), depth up to 100,000 */
export const deepJsonText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(10, 100, 1_000, 5_000, 20_000, 100_000), fc.boolean(), fc.boolean())
  .map(([n, arr, closed]) => {
    const open = arr ? '[' : '{"a":';
    const close = arr ? ']' : '}';
    return open.repeat(n) + '1' + (closed ? close.repeat(n) : '');
  });

/** any JSON value (including special strings and numbers) */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    anyNumberish,
    anyString,
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(anyString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString')), tie('v'), {
      maxKeys: 5,
    }),
  ),
})).v;

/** a request body text: random JSON, broken JSON, deep nesting, huge, empty, binary-ish */
export const anyBodyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: deepJsonText },
  { weight: 2, arbitrary: anyString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      '[',
      '{"a":',
      '{"a":1,}',
      "{'a':1}",
      'nul',
      '\ufeff{}',
      '{}garbage',
      '"\\ud800"',
      '{"__proto__":{"x":1}}',
    ),
  },
);

/** content types, right and wrong */
export const anyContentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'APPLICATION/JSON',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'multipart/form-data; boundary=',
    'multipart/form-data; boundary=xyz',
    'text/plain',
    'text/xml',
    'application/xml',
    'application/octet-stream',
    'application/vnd.api+json',
    'image/png',
    '*/*',
    '',
    ';',
    'application/json; boundary=x; charset=',
    'x'.repeat(2000),
    'application/json\u00e9',
  ),
  fc.string({ maxLength: 30 }),
);

/** header names a module reads, and some random ones */
const HEADER_NAMES = [
  'authorization',
  'x-api-key',
  'token',
  'x-client-id',
  'x-user-no',
  'x-http-method-override',
  'content-encoding',
  'accept-encoding',
  'accept',
  'x-request-id',
  'x-forwarded-for',
  'host',
  'range',
  'if-none-match',
  'transfer-encoding',
  'expect',
  'origin',
];

/** a header value that node's HTTP client/inject accepts (no CR/LF/NUL; other control and non-ASCII may fail in inject) */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => s.replace(/[\r\n\0]/g, '')),
  fc.constantFrom(...NUMBER_TEXTS, ...TRAVERSAL.filter((t) => !t.includes('\0'))),
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'Basic YWRtaW46YWRtaW4=',
    'bearer\tx',
    'gzip',
    'x-gzip',
    'deflate',
    'br',
    'gzip, gzip',
    'identity',
    '*',
    'PUT',
    'DELETE',
    'put',
    'GET',
  ),
  fc.integer({ min: 1, max: 8000 }).map((n) => 'a'.repeat(n)),
);

export const randomHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.stringMatching(/^x-[a-z0-9-]{1,20}$/)),
  headerValue,
  { maxKeys: 4 },
);

/** a query string fragment (without `?`): random keys/values, repeated keys, raw percent sequences */
export function queryOf(keys: string[]): fc.Arbitrary<string> {
  const pair = fc.tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }),
    fc.oneof(anyString, anyNumberish.map(String)),
  );
  const encoded = pair.map(([k, v]) => `${pct(k)}=${pct(v)}`);
  const raw = fc
    .tuple(
      fc.constantFrom(...keys),
      fc.constantFrom(
        '%',
        '%zz',
        '%ff',
        '%c3%28',
        '%00',
        '%e2%82',
        '+',
        '&&',
        '=',
        '%2e%2e%2f',
        '[]',
        '[0]=1',
        '[__proto__]=x',
      ),
    )
    .map(([k, v]) => `${k}=${v}`);
  return fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: encoded },
        { weight: 1, arbitrary: raw },
        { weight: 1, arbitrary: fc.constantFrom(...keys) },
      ),
      { maxLength: 5 },
    )
    .map((a) => a.join('&'));
}

/** percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD; encodeURIComponent would throw) */
export function pct(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out +=
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d ||
      b === 0x5f ||
      b === 0x2e
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Text a validator should accept and a writer must still escape: XML breakers that XML 1.0 can
 * carry, traversal-looking text, quotes, emoji, plain words.
 */
export const okText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9 ]{1,20}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...XML_BREAKERS.filter((x) => x !== '' && /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u.test(x)),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...TRAVERSAL.filter((t) => !t.includes('\0'))) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }) },
);
