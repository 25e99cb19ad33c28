/** zod schemas of the /sync routes (validation, types and OpenAPI from one source). */
import { z } from 'zod';

import { nodeNameProblem, PLUGIN_RE } from './names.js';

/** plugin: part of file names as it is, so nothing but these characters. */
const plugin = z.string().regex(PLUGIN_RE, 'must be 1..64 characters of [A-Za-z0-9_-]');
/** node_name: any printable name up to 64 characters, empty included (mapped to a safe file name part, names.ts). */
export const nodeName = z.string().superRefine((v, ctx) => {
  const p = nodeNameProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

export const FORBIDDEN = { success: false, message: 'ERROR: Not authorized', error: 'Forbidden' } as const;
export const NOT_FOUND = { success: false, error: 'API route not found' } as const;
/** 26.2+'s 415 body; fieldhub names the three types it reads (JSON for 26.6+ nodes, the forms for older ones). */
export const UNSUPPORTED = {
  success: false,
  error: 'Invalid Content-Type',
  message: 'Content-Type must be application/json, application/x-www-form-urlencoded or multipart/form-data',
} as const;

export const postBody = z.object({
  data: z.string().min(1, 'must not be empty'),
  node_name: nodeName,
  plugin,
  file_path: z.string().max(4096).optional(),
});

export const postAnswer = z.object({ success: z.literal(true).optional(), message: z.string() });

export const getAnswer = z.object({
  node_name: z.string(),
  status: z.number(),
  message: z.string(),
  data_base64: z.string(),
  timestamp: z.string(),
});

export const errorAnswer = z.object({
  success: z.literal(false).optional(),
  error: z.string(),
  message: z.string().optional(),
});

const tokenQuery = { token: z.string().optional() };

export const devicesQuery = z.object({
  ...tokenQuery,
  node: nodeName.optional(),
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
