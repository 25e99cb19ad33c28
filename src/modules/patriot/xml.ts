/**
 * Per-client XML in the layout Patriot imports: `<Clients><Row>...</Row></Clients>`, UTF-8 with a
 * declaration. A small writer of our own: every text goes through escapeText, which escapes
 * & < > " ' and CR (as &#13;, so a parser's line-ending normalisation cannot change it) and drops the
 * characters XML 1.0 cannot carry (the API already refuses them with 422; this guards other inputs
 * such as import-json). Booleans are written True/False, as the original's Python str(bool).
 */
import { EXTRA_FIELDS, type ApiKey } from './keys.js';
import { INFO_KEYS, INSTALLER_USER_NO, USER_KEYS } from './schemas.js';
import type { ClientRecord } from './store.js';

const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const SPECIAL = /[&<>"'\r]/g;
const ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

/** Escapes a text for element content; characters XML 1.0 cannot represent are dropped. */
export function escapeText(s: string): string {
  return s.replace(NOT_XML, '').replace(SPECIAL, (c) => ENTITY[c]!);
}

/** What escapeText keeps of a string: what a parser reads back. */
export function xmlRepresentable(s: string): string {
  return s.replace(NOT_XML, '');
}

type Scalar = string | number | boolean | null | undefined;

function value(v: Scalar): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return '';
  return escapeText(String(v));
}

class Writer {
  private readonly parts: string[] = ['<?xml version="1.0" encoding="utf-8"?>\n'];
  private depth = 0;
  open(name: string): this {
    this.parts.push('  '.repeat(this.depth), '<', name, '>\n');
    this.depth++;
    return this;
  }
  close(name: string): this {
    this.depth--;
    this.parts.push('  '.repeat(this.depth), '</', name, '>\n');
    return this;
  }
  leaf(name: string, v: Scalar): this {
    this.parts.push('  '.repeat(this.depth), '<', name, '>', value(v), '</', name, '>\n');
    return this;
  }
  toString(): string {
    return this.parts.join('');
  }
}

/** `<__id>`: client id followed by the key's port, e.g. 9998BASE11. */
export function patriotId(clientId: number, key: Pick<ApiKey, 'port'>): string {
  return `${clientId}${key.port}`;
}

export function buildClientXml(key: ApiKey, c: ClientRecord): string {
  const w = new Writer().open('Clients').open('Row');
  w.leaf('__id', patriotId(c.client_id, key));
  for (const k of INFO_KEYS) w.leaf(k, c.info[k]);
  w.leaf('Installer', key.installer_name);
  for (const [name] of EXTRA_FIELDS) if (key.extras[name] !== undefined) w.leaf(name, key.extras[name]);
  if (key.ClientGroupings.length) {
    w.open('ClientGroupings');
    for (const g of key.ClientGroupings) {
      w.open('ClientGrouping')
        .leaf('Description', g.Description)
        .leaf('GroupingTypeDescription', g.GroupingTypeDescription)
        .leaf('GroupingAllowMultiple', g.GroupingAllowMultiple)
        .close('ClientGrouping');
    }
    w.close('ClientGroupings');
  }
  w.open('Zones');
  for (const z of c.zones)
    w.open('Zone').leaf('Zone_No', z.Zone_No).leaf('Zone_area', z.Zone_area).leaf('ModuleNo', z.ModuleNo).close('Zone');
  w.close('Zones');
  w.open('Users');
  for (const u of c.users) {
    w.open('User');
    for (const k of USER_KEYS) w.leaf(k, u[k]);
    w.close('User');
  }
  w.open('User')
    .leaf('User_Name', key.installer_name)
    .leaf('Email', key.installer_email)
    .leaf('UserNo', INSTALLER_USER_NO)
    .leaf('CallOrder', 0)
    .leaf('Type', 'N')
    .close('User');
  w.close('Users');
  return w.close('Row').close('Clients').toString();
}
