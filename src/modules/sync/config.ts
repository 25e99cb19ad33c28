/** The sync module's config section (`sync.*`): NetAlertX hub and node settings. */
import { z } from 'zod';
import { MB, cron, secret, secretFile, defineModuleConfig } from '../../core/config.js';

const schema = z
  .object({
    enabled: z.boolean().default(true),
    /** health (console tile): a node/hub with no successful pull/push/post for this long is stale (amber) */
    staleMinutes: z.number().positive().default(15),
    apiToken: secret,
    apiTokenFile: secretFile,
    nodeName: z.string().min(1).max(64).default('fieldhub'),
    encryptionKey: z.string().default(''),
    encryptionKeyFile: secretFile,
    pullNodes: z.array(z.string().url()).default([]),
    pullCron: cron.default('*/5 * * * *'),
    pullTimeoutSeconds: z.number().positive().default(30),
    hubUrl: z.string().url().optional(),
    pushCron: cron.default('*/5 * * * *'),
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(50 * MB),
  })
  .strict()
  .prefault({});

export type SyncConfig = z.output<typeof schema>;

export const syncConfig = defineModuleConfig({
  name: 'sync',
  schema,
  secretFiles: [['apiToken'], ['encryptionKey']],
  resolve: (c): SyncConfig => c,
});

declare module '../../core/config.js' {
  interface ModuleConfigs {
    sync: SyncConfig;
  }
  interface ModuleConfigInputs {
    sync?: z.input<typeof schema>;
  }
}
