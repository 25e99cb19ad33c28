/**
 * Error classification shared by every module's error handler. Each module answers in its
 * peer's own shape; this file only decides the status and a short reason, so that the same
 * failure (oversize body, bad JSON, wrong content type, validation) gets the same status everywhere.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { STATUS_CODES } from 'node:http';
import type { z } from 'zod';

/**
 * The one HTTP error: a route (never a store, service, job or CLI) throws it to answer with a
 * status, a short message, and optional headers (e.g. Allow, WWW-Authenticate).
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * One zod error as one line, naming the first problem: `entry 2.key: Invalid input...`.
 * Used by core (config) and the modules (files, CLI input) so every message reads the same.
 */
export function zodIssueText(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return '(root): invalid';
  const where = i.path.length ? i.path.join('.') : '(root)';
  const extra = i.code === 'unrecognized_keys' ? `: ${i.keys.join(', ')}` : '';
  return `${where}: ${i.message}${extra}`;
}

export interface ValidationIssue {
  /** where: 'body' | 'querystring' | 'headers' | 'params', then the path inside it */
  loc: Array<string | number>;
  msg: string;
  type: string;
}

export interface Classified {
  statusCode: number;
  /** the HTTP reason phrase, e.g. "Payload Too Large" */
  error: string;
  /** a short message safe to show the client (never a stack, never a 5xx internal message) */
  message: string;
  validation?: ValidationIssue[];
  /** headers the answer must carry (e.g. Retry-After) */
  headers?: Record<string, string>;
}

/**
 * The store cannot be reached (PostgreSQL down or restarting, a connection lost): nothing was
 * written, a retry will do. Every module answers it 503 with Retry-After in its own shape.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

const FASTIFY_CODES: Record<string, number> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
  FST_ERR_CTP_EMPTY_TYPE: 400,
  FST_ERR_CTP_INVALID_TYPE: 415,
  FST_ERR_VALIDATION: 400,
  FST_REQ_FILE_TOO_LARGE: 413,
  FST_FILES_LIMIT: 413,
  FST_PARTS_LIMIT: 413,
  FST_FIELDS_LIMIT: 413,
  FST_PROTO_VIOLATION: 400,
  FST_INVALID_MULTIPART_CONTENT_TYPE: 415,
  FST_ERR_BAD_URL: 400,
  FST_ERR_ASYNC_CONSTRAINT: 400,
};

/** One failed check of a request schema, as the validator reported it (modules shape it their way). */
export interface RawIssue {
  /** 'body' | 'querystring' | 'headers' | 'params' */
  context: string;
  /** the path inside it; array indexes as numbers */
  path: Array<string | number>;
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}

/** The validation issues of a request-validation error, or undefined when `err` is not one. */
export function validationIssues(err: unknown): RawIssue[] | undefined {
  const e = err as FastifyError | undefined;
  if (!e?.validation) return undefined;
  const context = (e as { validationContext?: string }).validationContext ?? 'body';
  const zod = hasZodFastifySchemaValidationErrors(e);
  return e.validation.map((v) => ({
    context,
    path: String(v.instancePath ?? '')
      .split('/')
      .filter(Boolean)
      .map((x) => (/^\d+$/.test(x) ? Number(x) : x)),
    keyword: zod ? String(v.keyword) : (v.keyword ?? 'invalid'),
    message: v.message ?? 'invalid',
    params: v.params ?? {},
  }));
}

function issuesOf(err: FastifyError): ValidationIssue[] | undefined {
  return validationIssues(err)?.map((v) => ({ loc: [v.context, ...v.path], msg: v.message, type: v.keyword }));
}

/** busboy (under @fastify/multipart) reports a truncated or malformed body with plain Errors, no code */
const MULTIPART_PARSE =
  /^(Unexpected end of multipart data|Malformed part header|Multipart: Boundary not found|.* terminated early due to unexpected end of multipart data)$/;
function isMultipartParseError(e: unknown): boolean {
  const x = e as { statusCode?: unknown; code?: unknown };
  return e instanceof Error && x.statusCode === undefined && x.code === undefined && MULTIPART_PARSE.test(e.message);
}

/**
 * A PostgreSQL error (pg's DatabaseError: a SQLSTATE `code` and a `severity`) for a value it cannot
 * hold: 22021 character_not_in_repertoire (a NUL, "invalid byte sequence for encoding"), 22P05
 * untranslatable_character, 22003 numeric_value_out_of_range (a number past an INTEGER column, e.g.
 * a looked-up id). SQLite stores or looks up such a value; PostgreSQL refuses the statement.
 */
const UNSTORABLE: Record<string, string> = {
  '22021': 'a value holds a character the store cannot keep (NUL)',
  '22P05': 'a value holds a character the store cannot keep (NUL)',
  '22003': 'a number is out of the range the store keeps',
};
export function isUnstorableText(err: unknown): boolean {
  return unstorable(err) !== undefined;
}
function unstorable(err: unknown): string | undefined {
  const e = err as { code?: unknown; severity?: unknown } | undefined;
  return typeof e?.severity === 'string' && typeof e.code === 'string' ? UNSTORABLE[e.code] : undefined;
}

export function classify(err: unknown): Classified {
  const e = err as FastifyError & { status?: number };
  if (err instanceof HttpError) {
    const c: Classified = { statusCode: err.statusCode, error: reason(err.statusCode), message: err.message };
    return err.headers ? { ...c, headers: err.headers } : c;
  }
  const validation = issuesOf(e);
  if (validation) {
    return { statusCode: 400, error: reason(400), message: e.message, validation };
  }
  if (e?.code === 'SQLITE_BUSY' || e?.code === 'SQLITE_LOCKED') {
    // another writer held the database past the busy timeout: nothing was written, a retry will do
    return {
      statusCode: 503,
      error: reason(503),
      message: 'the store is busy; retry shortly',
      headers: { 'retry-after': '1' },
    };
  }
  if (err instanceof StoreUnavailableError) {
    return {
      statusCode: 503,
      error: reason(503),
      message: 'the store is unavailable; retry shortly',
      headers: { 'retry-after': '5' },
    };
  }
  const unfit = unstorable(err);
  if (unfit) {
    // PostgreSQL keeps no NUL in text nor a number past its column's type: the request's value can
    // be neither stored nor found, and nothing was written (the statement failed)
    return { statusCode: 400, error: reason(400), message: unfit };
  }
  const byCode = e?.code ? FASTIFY_CODES[e.code] : undefined;
  const status = byCode ?? (e instanceof SyntaxError || isMultipartParseError(e) ? 400 : (e?.statusCode ?? e?.status));
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { statusCode: status, error: reason(status), message: e.message || reason(status) };
  }
  const s = typeof status === 'number' && status >= 500 && status < 600 ? status : 500;
  return { statusCode: s, error: reason(s), message: reason(s) };
}

/** Logs a classified error at the right level: 5xx with the stack, 4xx as a short info line. */
export function logError(req: FastifyRequest, err: unknown, c: Classified): void {
  if (c.statusCode >= 500) req.log.error({ err, method: req.method, url: req.routeOptions?.url }, 'request failed');
  else req.log.info({ statusCode: c.statusCode, reason: c.message }, 'request rejected');
}

/** Installs an error handler and a 404 handler on an encapsulated scope, shaping bodies with `shape`. */
export function installErrorFormat(
  scope: FastifyInstance,
  shape: (c: Classified, req: FastifyRequest) => unknown,
  opts: { notFound?: boolean } = {},
): void {
  scope.setErrorHandler((err, req, reply: FastifyReply) => {
    const c = classify(err);
    logError(req, err, c);
    if (c.headers) reply.headers(c.headers);
    return reply.code(c.statusCode).type('application/json; charset=utf-8').send(shape(c, req));
  });
  if (opts.notFound !== false) {
    scope.setNotFoundHandler((req, reply) => {
      const c: Classified = {
        statusCode: 404,
        error: reason(404),
        message: `Route ${req.method} ${req.url.split('?')[0]} not found`,
      };
      return reply.code(404).type('application/json; charset=utf-8').send(shape(c, req));
    });
  }
}

/**
 * Fastify's `frameworkErrors`: a URL the router cannot take (bad percent-encoding, a parameter over
 * maxParamLength) is answered before any route or scope, in the core shape as for an unknown path.
 */
export function answerFrameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const c = classify(err);
  logError(req, err, c);
  void reply.code(c.statusCode).type('application/json; charset=utf-8').send(coreShape(c));
}

/** The core shape (also the admin API's): Fastify's own `{statusCode, error, message}`. */
export function coreShape(c: Classified): unknown {
  return c.validation
    ? { statusCode: c.statusCode, error: c.error, message: c.message, validation: c.validation }
    : { statusCode: c.statusCode, error: c.error, message: c.message };
}
