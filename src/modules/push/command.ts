/** A command as the operator sends it, its validation, and the exact answer a device gets on GET /push. */
import { z } from 'zod';
import { deviceIdFromJson, DEVICE_ID_HINT } from './device-id.js';

export const STATUSES = ['queued', 'delivered', 'done', 'failed', 'expired', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['done', 'failed', 'expired', 'cancelled']);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

export const commandFields = {
  verb: z.enum(['GET', 'POST']).optional().describe('HTTP method the device uses; the device defaults to POST'),
  endpoint: z
    .string()
    .regex(
      /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
      'endpoint must be a command name: letters, digits, _ . - (1-128, not starting with . or -)',
    )
    .describe('device API command, e.g. load_objects'),
  body: z.unknown().optional().describe('any JSON value; a base64 string when contentType is application/octet-stream'),
  contentType: z
    .string()
    .max(200)
    .regex(
      /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;[^\r\n]*)?$/,
      'contentType must be a media type, e.g. application/json',
    )
    .optional(),
  queryString: z
    .string()
    .max(4096)
    .regex(/^[^\s#]*$/, 'queryString must not contain spaces or #')
    .optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional().describe('never delivered after this time (ISO-8601)'),
  maxAttempts: z.number().int().min(1).max(100).optional().describe('deliveries before failing with reason timeout'),
  bodyEncoding: z
    .enum(['string', 'object'])
    .optional()
    .describe(
      'how a JSON body goes to the device: JSON-encoded in a string (Control iD samples) or as the value; default push.bodyEncoding',
    ),
};

export type BodyEncoding = 'string' | 'object';

type Spec = { contentType?: string; body?: unknown; expiresAt?: string };

function checkBody(v: Spec, ctx: z.RefinementCtx): void {
  if (v.expiresAt !== undefined && Date.parse(v.expiresAt) <= Date.now()) {
    ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'expiresAt is in the past' });
  }
  const mt = mediaType(v.contentType);
  if (v.body === undefined) return;
  if (mt === 'application/octet-stream') {
    if (typeof v.body !== 'string' || !BASE64.test(v.body)) {
      ctx.addIssue({
        code: 'custom',
        path: ['body'],
        message: 'body must be a base64 string for application/octet-stream',
      });
    }
  } else if (!mt.includes('json') && typeof v.body !== 'string') {
    ctx.addIssue({ code: 'custom', path: ['body'], message: `body must be a string for ${mt}` });
  }
}

export const commandSpecSchema = z.object(commandFields).strict().superRefine(checkBody);
export type CommandSpec = z.output<typeof commandSpecSchema>;

export const deviceIdJson = z
  .union([z.string(), z.number()])
  .refine((v) => deviceIdFromJson(v) !== undefined, DEVICE_ID_HINT);

export const bulkSpecSchema = z
  .object({ ...commandFields, deviceIds: z.array(deviceIdJson).min(1).max(10_000) })
  .strict()
  .superRefine(checkBody);

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
