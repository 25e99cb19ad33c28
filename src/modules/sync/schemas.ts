/** zod schemas of the /sync routes (validation, types and OpenAPI from one source). */
import { z } from 'zod';

/** node_name and plugin: they become parts of file names, so nothing but these characters. */
export const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const name = z.string().regex(NAME_RE, 'must be 1..64 characters of [A-Za-z0-9_-]');

export const FORBIDDEN = { success: false, message: 'ERROR: Not authorized', error: 'Forbidden' } as const;

export const postBody = z.object({
  data: z.string().min(1, 'must not be empty'),
  node_name: name,
  plugin: name,
  file_path: z.string().max(4096).optional(),
});

export const postAnswer = z.object({ message: z.string() });

export const getAnswer = z.object({
  node_name: z.string(),
  status: z.number(),
  message: z.string(),
  data_base64: z.string(),
  timestamp: z.string(),
});

export const errorAnswer = z.object({ success: z.literal(false).optional(), error: z.string(), message: z.string().optional() });

const tokenQuery = { token: z.string().optional() };

export const devicesQuery = z.object({
  ...tokenQuery,
  node: name.optional(),
  mac: z.string().min(1).max(64).optional(),
  since: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date or date-time')
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const notificationsQuery = z.object({
  ...tokenQuery,
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after_id: z.coerce.number().int().min(0).default(0),
});
