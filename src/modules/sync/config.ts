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
    /** NetAlertX's SYNC_node_name: any printable name up to 64 characters, empty allowed (NetAlertX's default) */
    nodeName: z
      .string()
      .max(64)
      .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
      .default('fieldhub'),
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
    /** push: JSON (NetAlertX 26.2+ hubs), form (26.1), or auto (JSON, then form; remembered per hub for a day) */
    hubFormat: z.enum(['auto', 'json', 'form']).default('auto'),
    /** GET /sync and push: serve device keys that are not NetAlertX Devices columns (26.1-26.5 hubs fail on them) */
    serveExtraKeys: z.boolean().default(false),
    /** what a received device does to a known one: merge (fieldhub's), copy-new, carbon-copy, hub-defaults (26.6+) */
    behavior: z.enum(['merge', 'copy-new', 'carbon-copy', 'hub-defaults']).default('merge'),
    /** GET /sync: encrypt data_base64 with encryptionKey (fieldhub pullers only; NetAlertX hubs do not decrypt pulls) */
    serveEncrypted: z.boolean().default(false),
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
