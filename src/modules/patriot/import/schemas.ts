/** zod schemas of the import pipeline's operator routes (validation, types and OpenAPI from one source). */
import { z } from 'zod';
import { pageFields } from '../../../core/paging.js';

export const runsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) }).strict();
export const stateQuery = z
  .object({
    status: z.enum(['changed', 'pending_import', 'imported', 'import_failed']).optional(),
    key_name: z.string().min(1).max(200).optional(),
    id: z.string().min(1).max(200).optional(),
    ...pageFields({ max: 10_000, default: 100 }),
  })
  .strict();
