/**
 * The push module's input rules: the command an operator sends (zod: validation, types and OpenAPI
 * from one source), the admin routes' params and queries, and the query values devices add to
 * /push and /result (checked by hand on the hot path).
 */
import { z } from 'zod';
import { pageFields } from '../../core/paging.js';
import { deviceIdFromJson, DEVICE_ID_HINT, parseDeviceId } from './device-id.js';

export const STATUSES = ['queued', 'delivered', 'done', 'failed', 'expired', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['done', 'failed', 'expired', 'cancelled']);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function mediaType(contentType: string | undefined): string {
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

export const deviceParams = z.object({
  deviceId: z.string().refine((v) => parseDeviceId(v) !== undefined, DEVICE_ID_HINT),
});
export const commandParams = z.object({ id: z.string().min(1).max(64) });
export const commandsQuery = z.object({
  status: z.enum(STATUSES).optional(),
  ...pageFields({ max: 1000, default: 100 }),
});

export const devicePageQuery = z
  .object({
    q: z.string().max(100).optional(),
    sort: z.enum(['id', 'lastSeen', 'queued', 'address']).default('id'),
    order: z.enum(['asc', 'desc']).default('asc'),
    online: z.enum(['true', 'false']).optional(),
    ...pageFields({ max: 100_000 }),
  })
  .strict();
export type DevicePageQuery = z.infer<typeof devicePageQuery>;

/** A device uuid: 1-128 visible ASCII characters (Control iD devices send a hex uuid). */
const UUID = /^[\x21-\x7e]{1,128}$/;
const ENDPOINT = /^\/?[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const UUID_HINT = 'uuid must be 1-128 visible ASCII characters';
export const ENDPOINT_HINT =
  'endpoint must be a command name (letters, digits, _ . -, at most 128), optionally with .fcgi';

/** undefined: absent or empty (a device without one); null: present but invalid. */
export function parseUuid(v: unknown): string | undefined | null {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' && UUID.test(v) ? v : null;
}

/** undefined: absent or empty; null: invalid; else the name as sent. */
export function parseEndpoint(v: unknown): string | undefined | null {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' && ENDPOINT.test(v) ? v : null;
}
