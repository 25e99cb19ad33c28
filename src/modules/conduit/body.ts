/**
 * Request bodies of the Conduit API: `application/json` only, optionally `Content-Encoding: gzip`.
 * The compressed body is read up to the limit, then inflated with zlib's maxOutputLength, which
 * stops inflating at the limit: a gzip bomb costs at most `limit` bytes and answers 413.
 * A body that is a JSON array (the bulk format) is kept as text (`JsonText`): the bulk ingest
 * hands the text to the writer thread, which parses it there, off the event loop.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { HttpError } from '../../core/errors.js';

const gunzipAsync = promisify(gunzip);

/** the 400 answer's message for a body that is not JSON */
export const notJson = (e: unknown) => `request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`;

/** A JSON array body, not parsed yet. */
export class JsonText {
  constructor(readonly text: string) {}

  /** JSON.parse, or the 400 of a body that is not JSON */
  parse(): unknown {
    try {
      return JSON.parse(this.text) as unknown;
    } catch (e) {
      throw new HttpError(400, notJson(e));
    }
  }
}

/** the first character after JSON's white space is `[` */
function isArrayText(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c === 0x5b;
  }
  return false;
}

/** The body: a JsonText when it is a JSON array (checked when it is parsed), else its JSON.parse. */
export async function decodeBody(req: FastifyRequest, body: Buffer, limit: number): Promise<unknown> {
  const enc = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  let raw = body;
  if (enc === 'gzip' || enc === 'x-gzip') {
    try {
      raw = await gunzipAsync(body, { maxOutputLength: limit });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new HttpError(413, `request body exceeds ${limit} bytes after decompression`);
      }
      throw new HttpError(400, 'request body is not valid gzip');
    }
  } else if (enc !== 'identity' && enc !== '') {
    throw new HttpError(415, `unsupported Content-Encoding "${enc.slice(0, 40)}" (gzip only)`);
  }
  if (raw.length === 0) throw new HttpError(400, 'empty request body');
  const text = new JsonText(raw.toString('utf8'));
  return isArrayText(text.text) ? text : text.parse();
}

/** Replaces the scope's body parsers with the Conduit one. */
export function installBodyParser(scope: FastifyInstance, limit: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: limit },
    async (req: FastifyRequest, body: Buffer) => decodeBody(req, body, limit),
  );
  scope.addContentTypeParser('*', (req: FastifyRequest, _payload: unknown, done: (err: Error | null) => void) => {
    const type = String(req.headers['content-type'] ?? '').slice(0, 60);
    done(
      new HttpError(
        415,
        type
          ? `Content-Type ${type} is not supported: send application/json`
          : 'a request body needs Content-Type: application/json',
      ),
    );
  });
}
