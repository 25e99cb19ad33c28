import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkResults } from '../../../src/modules/patriot/import/check.js';
import { decodeResults } from '../../../src/modules/patriot/import/service.js';
import {
  combineRows,
  decodeText,
  idsOfCombined,
  parseClientXml,
  XmlRejectError,
} from '../../../src/modules/patriot/import/xml.js';
import { clientXml } from './helpers/clients.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** XML 1.0 text characters (no C0 controls except tab/newline) */
const xmlText = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  // eslint-disable-next-line no-control-regex -- the point: strip the control characters XML 1.0 cannot carry
  .map((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, ''));

describe('per-client XML -> combined clients.xml', () => {
  it('re-emits a Row byte-exact: escapes, whitespace, Norwegian letters, element order, empty elements', () => {
    const row = `<Row>\n    <__id>9998BASE11</__id>\n    <Name> Bjørn &amp; Æsa &lt;/Name&gt;&#x9;"q" 'a' </Name>\n    <Blank>  </Blank>\n    <Zones><Zone><Zone_No>1</Zone_No><Zone_area>Stue ÆØÅ æøå</Zone_area></Zone></Zones>\n    <X a="1 &amp; 2">t</X>\n  </Row>`;
    const text = `<?xml version="1.0" encoding="utf-8"?>\n<Clients>\n  ${row}\n</Clients>\n`;
    const [r] = parseClientXml(text);
    expect(r!.id).toBe('9998BASE11');
    expect(r!.xml).toBe(row);
    expect(Buffer.from(combineRows([r!])).includes(Buffer.from('Stue ÆØÅ æøå', 'utf8'))).toBe(true);
  });

  it('property: any text value survives file -> combined -> parse with the same bytes and the same decoded value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 1e9 }), xmlText), { minLength: 1, maxLength: 5 }),
        (clients) => {
          const rows = clients.flatMap(([id, name]) =>
            parseClientXml(
              `<?xml version="1.0"?>\n<Clients><Row><__id>${id}BASE11</__id><Name>${esc(name)}</Name></Row></Clients>`,
            ),
          );
          const combined = combineRows(rows);
          expect(combined.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<Clients>\n')).toBe(true);
          const back = parseClientXml(combined);
          expect(back.map((r) => r.id)).toEqual(clients.map(([id]) => `${id}BASE11`));
          back.forEach((r, i) => {
            expect(r.xml).toBe(rows[i]!.xml);
            const inner = /<Name>([\s\S]*)<\/Name>/.exec(r.xml)![1]!;
            expect(decodeText(inner)).toBe(clients[i]![1]);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('files with comments, CDATA or several Rows go through the ordered builder and keep their text', () => {
    const text = `<?xml version="1.0"?>\n<!-- <Row> in a comment -->\n<Clients><Row><__id>1BASE11</__id><Note><![CDATA[a </Row> b]]></Note><N>æ &amp; ø</N></Row><Row><__id>2BASE11</__id></Row></Clients>`;
    expect(parseClientXml(text)).toEqual([
      { id: '1BASE11', xml: '<Row><__id>1BASE11</__id><Note><![CDATA[a </Row> b]]></Note><N>æ &amp; ø</N></Row>' },
      { id: '2BASE11', xml: '<Row><__id>2BASE11</__id></Row>' },
    ]);
  });

  it('the files the API writes parse to one Row each', () => {
    const rows = parseClientXml(clientXml(42, 'BASE05'));
    expect(rows.map((r) => r.id)).toEqual(['42BASE05']);
    expect(idsOfCombined(combineRows([...rows, ...parseClientXml(clientXml(43, 'BASE05'))]))).toEqual([
      '42BASE05',
      '43BASE05',
    ]);
  });

  it.each([
    ['', /empty file/],
    ['<Clients><Row><__id>1BASE11</__id></Clients>', /not well-formed/],
    ['<Clients><Row><__id>1BASE11</__id><Name>a & b</Name></Row></Clients>', /not well-formed/],
    ['<Other><Row><__id>1</__id></Row></Other>', /root element is <Other>/],
    ['<Clients></Clients>', /no <Row>/],
    ['<Clients><Row><Name>x</Name></Row></Clients>', /has no <__id>/],
    ['<Clients><Row><__id> </__id></Row></Clients>', /has no <__id>/],
    ['<a/><b/>', /not well-formed|one root/],
    ['just text', /not well-formed|root/],
  ])('rejects %j', (text, why) => {
    expect(() => parseClientXml(text)).toThrow(XmlRejectError);
    expect(() => parseClientXml(text)).toThrow(why);
  });
});

describe('results check', () => {
  it('an id counts as completed only on a line with the phrase and the whole id', () => {
    const results = [
      '2025-01-01 12:00:01 Completed processing client 11BASE11',
      '2025-01-01 12:00:02 Error processing client 2BASE11: bad zone',
      '2025-01-01 12:00:03 Started processing client 3BASE11',
      '2025-01-01 12:00:04 Client 3BASE11: Completed processing client',
    ].join('\r\n');
    expect(checkResults(['11BASE11', '1BASE11', '2BASE11', '3BASE11', '1BASE1'], results)).toEqual({
      completed: ['11BASE11', '3BASE11'],
      missing: ['1BASE11', '2BASE11', '1BASE1'],
    });
    expect(checkResults(['1BASE11'], null)).toEqual({ completed: [], missing: ['1BASE11'] });
  });

  it('property: completed and missing partition the ids; a completed line for each id completes all', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[0-9]{1,6}[A-Z]{2,6}[0-9]{0,2}$/), { maxLength: 30 }),
        fc.context(),
        (ids, _ctx) => {
          const half = ids.filter((_, i) => i % 2 === 0);
          const text = half.map((id) => `x Completed processing client ${id} ok`).join('\n');
          const r = checkResults(ids, text);
          expect(new Set([...r.completed, ...r.missing])).toEqual(new Set(ids));
          expect(new Set(r.completed)).toEqual(new Set(half));
        },
      ),
    );
  });

  it('reads UTF-16 results files (Windows) as well as UTF-8', () => {
    const line = 'Completed processing client 7BASE11';
    expect(decodeResults(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(line, 'utf16le')]))).toBe(line);
    const be = Buffer.from(line, 'utf16le');
    be.swap16();
    expect(decodeResults(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toBe(line);
    expect(decodeResults(Buffer.from(line))).toBe(line);
  });
});

describe('per-client files read without a tree and with one: the same rows', () => {
  const row = (inner: string, attrs = '') => `<Row${attrs}>${inner}</Row>`;
  const doc = (body: string) => `<?xml version="1.0" encoding="utf-8"?>\n<Clients>\n${body}\n</Clients>\n`;
  it('the usual file, one with attributes, one with another element beside the Row, entities in the id', () => {
    const cases: Array<[string, string, string]> = [
      [
        doc(row('<__id>1BASE11</__id><Name>A &amp; B</Name>')),
        '1BASE11',
        row('<__id>1BASE11</__id><Name>A &amp; B</Name>'),
      ],
      [doc(row('<__id>2BASE11</__id>', ' a="x>y"')), '2BASE11', row('<__id>2BASE11</__id>', ' a="x>y"')],
      [doc(`<Meta/>\n${row('<__id>3BASE11</__id>')}`), '3BASE11', row('<__id>3BASE11</__id>')],
      [
        doc(row('<X><__id>no</__id></X><__id> 4&amp;5 </__id>')),
        '4&5',
        row('<X><__id>no</__id></X><__id> 4&amp;5 </__id>'),
      ],
    ];
    for (const [text, id, xml] of cases) expect(parseClientXml(text)).toEqual([{ id, xml }]);
  });
  it('a Row without its own id is still rejected; a combined file lists every id in order', () => {
    expect(() => parseClientXml(doc(row('<X><__id>1</__id></X>')))).toThrow(XmlRejectError);
    expect(() => parseClientXml(doc(row('<__id> </__id>')))).toThrow(XmlRejectError);
    const rows = [1, 2, 3].map((i) => ({ xml: row(`<__id>${i}BASE11</__id>`) }));
    expect(idsOfCombined(combineRows(rows))).toEqual(['1BASE11', '2BASE11', '3BASE11']);
    expect(idsOfCombined(doc(`<!-- c -->${rows.map((r) => r.xml).join('')}`))).toEqual([
      '1BASE11',
      '2BASE11',
      '3BASE11',
    ]);
  });
});
