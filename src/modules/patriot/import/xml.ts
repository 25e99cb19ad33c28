/**
 * Per-client XML in, combined clients.xml out. Rows are re-emitted from fast-xml-parser's ordered
 * tree with entity processing off and whitespace kept, so every byte of a Row (escapes, Norwegian
 * letters, element order) reaches clients.xml exactly as the API wrote it.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

const OPTS = {
  preserveOrder: true,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
} as const;

const parser = new XMLParser(OPTS);
const builder = new XMLBuilder({ ...OPTS, format: false, suppressEmptyNode: false });

export class XmlRejectError extends Error {
  override name = 'XmlRejectError';
}

export interface ParsedRow {
  /** the decoded text of `<__id>` */
  id: string;
  /** the `<Row>...</Row>` element exactly as written */
  xml: string;
}

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };

function tagOf(n: Node): string | undefined {
  return Object.keys(n).find((k) => k !== ':@');
}

function children(n: Node): Node[] {
  const t = tagOf(n);
  const c = t ? n[t] : undefined;
  return Array.isArray(c) ? (c as Node[]) : [];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the XML entities and character references of a text node. */
export function decodeText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e]!;
  });
}

const cdataText = (t: unknown): string => (typeof t === 'string' || typeof t === 'number' ? String(t) : '');

function textOf(n: Node): string {
  return children(n)
    .map((c) =>
      typeof c['#text'] === 'string'
        ? c['#text']
        : Array.isArray(c['#cdata'])
          ? cdataText((c['#cdata'] as Node[])[0]?.['#text'])
          : '',
    )
    .join('');
}

/** Validates and parses a document whose root is `<Clients>` (or a bare `<Row>`); its Row nodes with their ids. */
function parseRows(text: string): { body: string; rows: Array<{ id: string; node: Node }> } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new XmlRejectError('empty file');
  const v = XMLValidator.validate(body);
  if (v !== true) throw new XmlRejectError(`not well-formed XML: ${v.err.msg} (line ${v.err.line}, col ${v.err.col})`);
  const doc = parser.parse(body) as Node[];
  const roots = doc.filter((n) => tagOf(n) && !tagOf(n)!.startsWith('#'));
  if (roots.length !== 1) throw new XmlRejectError(`expected one root element, found ${roots.length}`);
  const root = roots[0]!;
  const rows =
    tagOf(root) === 'Row'
      ? [root]
      : tagOf(root) === 'Clients'
        ? children(root).filter((c) => tagOf(c) === 'Row')
        : null;
  if (!rows) throw new XmlRejectError(`root element is <${tagOf(root)}>, expected <Clients>`);
  if (rows.length === 0) throw new XmlRejectError('no <Row> element');
  return {
    body,
    rows: rows.map((node, i) => {
      const idNode = children(node).find((c) => tagOf(c) === '__id');
      const id = idNode ? decodeText(textOf(idNode)).trim() : '';
      if (!id) throw new XmlRejectError(`<Row> ${i + 1} has no <__id>`);
      return { id, node };
    }),
  };
}

const ROW_OPEN = /<Row[\s>/]/g;
const NOT_PLAIN = /<!--|<!\[CDATA\[|<!DOCTYPE/;

/** No comments, CDATA, DOCTYPE or processing instructions after the declaration: every `<` starts a tag. */
const plain = (body: string) => !NOT_PLAIN.test(body) && body.lastIndexOf('<?') <= 0;

/**
 * The Rows' ids of a usual document read without building a tree: root `<Clients>`, its `<Row>`
 * children (no Row anywhere else), no attribute anywhere, each Row's first `<__id>` child holding
 * non-empty text only. Called on a well-formed, plain body only; returns what parseRows would find
 * (each Row's decoded id, in order), or undefined for anything else, which goes the general way
 * (and its errors).
 */
function plainRowIds(body: string): string[] | undefined {
  let depth = 0;
  const ids: string[] = [];
  let id: string | undefined;
  for (let i = body.indexOf('<'); i !== -1; i = body.indexOf('<', i + 1)) {
    const end = body.indexOf('>', i);
    if (body[i + 1] === '?') {
      i = end;
      continue;
    }
    if (body[i + 1] === '/') {
      depth--;
      if (depth === 1) {
        // a Row closed
        if (!id) return undefined;
        ids.push(id);
      }
      i = end;
      continue;
    }
    const tag = body.slice(i + 1, end);
    if (tag.includes('"') || tag.includes("'")) return undefined;
    const selfClosing = tag.endsWith('/');
    const name = /^[^\s/]+/.exec(tag)?.[0];
    if (depth === 0 && name !== 'Clients') return undefined;
    if (name === 'Row') {
      if (depth !== 1 || selfClosing) return undefined;
      id = undefined;
    } else if (depth === 1) {
      return undefined; // something else beside the Rows
    } else if (name === '__id' && depth === 2 && id === undefined) {
      if (selfClosing) return undefined;
      const close = body.indexOf('<', end);
      if (!body.startsWith('</__id>', close)) return undefined;
      id = decodeText(body.slice(end + 1, close)).trim();
      if (!id) return undefined;
    }
    if (!selfClosing) depth++;
    i = end;
  }
  return ids.length ? ids : undefined;
}

/**
 * Parses one per-client file: root `<Clients>` (or a bare `<Row>`), each `<Row>` with a non-empty
 * `<__id>`. Throws XmlRejectError with the reason when the file is not usable.
 *
 * The usual file (one Row, no comments, CDATA or processing instructions after the declaration)
 * is re-emitted as the exact slice of the original text: in a well-formed document without those,
 * `<Row` and `</Row>` occur only as tags, so the first and the last delimit the Row; its id is read
 * by a scan of the tags (plainRowIds) instead of a parse. Anything else goes through the ordered
 * parser and builder, which keep text and escapes as written too.
 */
export function parseClientXml(text: string): ParsedRow[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (plain(body) && XMLValidator.validate(body) === true) {
    const ids = plainRowIds(body);
    if (ids?.length === 1) {
      ROW_OPEN.lastIndex = 0;
      const start = ROW_OPEN.exec(body)!.index;
      return [{ id: ids[0]!, xml: body.slice(start, body.lastIndexOf('</Row>') + '</Row>'.length) }];
    }
  }
  const { rows } = parseRows(body);
  if (rows.length === 1 && plain(body)) {
    ROW_OPEN.lastIndex = 0;
    const start = ROW_OPEN.exec(body)?.index;
    const end = body.lastIndexOf('</Row>');
    if (start !== undefined && end > start) return [{ id: rows[0]!.id, xml: body.slice(start, end + '</Row>'.length) }];
  }
  return rows.map((r) => ({ id: r.id, xml: builder.build([r.node]) }));
}

export const XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<Clients>\n';
export const XML_TAIL = '</Clients>\n';

/** The combined document: declaration, root `<Clients>`, one Row per line. */
export function combineRows(rows: Iterable<{ xml: string }>): string {
  const parts = [XML_HEAD];
  for (const r of rows) parts.push(r.xml, '\n');
  parts.push(XML_TAIL);
  return parts.join('');
}

/** Every `<__id>` of a combined clients.xml (the remote one, read back for the results check). */
export function idsOfCombined(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const ids = plain(body) && XMLValidator.validate(body) === true ? plainRowIds(body) : undefined;
  return ids ?? parseRows(body).rows.map((r) => r.id);
}
