/** A command on the wire: the exact answer a device gets on GET /push, and what it sends back on POST /result. */
import type { BodyEncoding, CommandSpec } from './schemas.js';

/**
 * The GET /push answer: only what the command sets, plus its id as `uuid`. A body that is not a
 * string is JSON-encoded into one when the encoding is "string" (strings — text, base64 — go as they are).
 */
export function pushPayload(id: string, spec: CommandSpec, encoding: BodyEncoding = 'string'): string {
  const o: Record<string, unknown> = {};
  if (spec.verb !== undefined) o.verb = spec.verb;
  o.endpoint = spec.endpoint;
  if (spec.body !== undefined)
    o.body = encoding === 'string' && typeof spec.body !== 'string' ? JSON.stringify(spec.body) : spec.body;
  if (spec.contentType !== undefined) o.contentType = spec.contentType;
  if (spec.queryString !== undefined) o.queryString = spec.queryString;
  o.uuid = id;
  return JSON.stringify(o);
}

/** How a stored response or error text is to be read: the text the device sent in a string, or JSON text. */
export type TextEncoding = 'string' | 'json';

/** What a device sent to POST /result, read leniently (any content type, JSON or not). */
export interface ParsedResult {
  ok: boolean;
  /** the response (done): the string as the device sent it, or JSON text of any other value */
  response: string | null;
  responseEncoding: TextEncoding | null;
  /** the device's error (failed), read the same way */
  error: string | null;
  errorEncoding: TextEncoding | null;
  /** a uuid the device echoed in the body */
  uuid?: string;
}

const asText = (v: unknown): [string, TextEncoding] =>
  typeof v === 'string' ? [v, 'string'] : [JSON.stringify(v ?? null), 'json'];

export function parseResult(raw: string): ParsedResult {
  const text = raw.trim();
  const none = { response: null, responseEncoding: null, error: null, errorEncoding: null } as const;
  if (text === '') return { ok: true, ...none };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: true, ...none, response: raw, responseEncoding: 'string' };
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const uuid = typeof o.uuid === 'string' ? o.uuid : undefined;
    if (o.error !== undefined && o.error !== null && !('response' in o)) {
      const [error, errorEncoding] = asText(o.error);
      return { ok: false, ...none, error, errorEncoding, uuid };
    }
    if ('response' in o) {
      const [response, responseEncoding] = asText(o.response);
      return { ok: true, ...none, response, responseEncoding, uuid };
    }
    return { ok: true, ...none, response: text, responseEncoding: 'json', uuid };
  }
  return { ok: true, ...none, response: text, responseEncoding: 'json' };
}

/** A stored text read back: parsed JSON when it is JSON (a string holding valid JSON included), else the string. */
export function decodeText(text: string, encoding: TextEncoding): unknown {
  if (encoding === 'json') return JSON.parse(text) as unknown;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** An endpoint name compared without a leading "/" and a ".fcgi" suffix (devices report either form). */
export function sameEndpoint(a: string, b: string): boolean {
  const norm = (e: string) => e.replace(/^\//, '').replace(/\.fcgi$/i, '');
  return norm(a) === norm(b);
}
