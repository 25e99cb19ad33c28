/** The push module's config section (`push.*`): Control iD device queue settings. */
import { z } from 'zod';
import { defineModuleConfig } from '../../core/config.js';

const schema = z
  .object({
    enabled: z.boolean().default(true),
    allowUnknownDevices: z.boolean().default(true),
    resultTimeoutSeconds: z.number().positive().default(60),
    maxAttempts: z.number().int().min(1).default(3),
    pollPeriodSeconds: z.number().positive().default(5),
    /** last-seen writes are coalesced and flushed at most this often */
    lastSeenFlushMs: z.number().int().positive().default(2000),
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
