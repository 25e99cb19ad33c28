/** The push module's config section (`push.*`): Control iD device queue settings. */
import { z } from 'zod';
import { defineModuleConfig } from '../../core/config.js';

const schema = z
  .object({
    enabled: z.boolean().default(true),
    /** health (console tile): a device not seen for this many poll periods is offline (red) */
    offlinePolls: z.number().positive().default(3),
    allowUnknownDevices: z.boolean().default(true),
    resultTimeoutSeconds: z.number().positive().default(60),
    maxAttempts: z.number().int().min(1).default(3),
    pollPeriodSeconds: z.number().positive().default(5),
    /** last-seen writes are coalesced and flushed at most this often */
    lastSeenFlushMs: z.number().int().positive().default(2000),
    /** path prefixes the device routes are served under ("" = /push and /result; "/api" = /api/push...) */
    basePaths: z
      .array(
        z
          .string()
          .regex(/^(?:\/[A-Za-z0-9._~-]+)*$/, 'a base path is "" or /segment[/segment...] without a trailing slash'),
      )
      .min(1)
      .refine((a) => new Set(a).size === a.length, 'basePaths must not repeat')
      .default(['']),
    /** how a JSON body the operator gave is sent in the push answer: a JSON-encoded string, or the object */
    bodyEncoding: z.enum(['string', 'object']).default('string'),
  })
  .strict()
  .prefault({});

export type PushConfig = z.output<typeof schema>;

export const pushConfig = defineModuleConfig({
  name: 'push',
  schema,
  secretFiles: [],
  resolve: (c): PushConfig => c,
});

declare module '../../core/config.js' {
  interface ModuleConfigs {
    push: PushConfig;
  }
  interface ModuleConfigInputs {
    push?: z.input<typeof schema>;
  }
}
