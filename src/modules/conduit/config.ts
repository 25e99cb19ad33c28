/** The conduit module's config section (`conduit.*`): Conduit v6 ingest and retention. */
import { z } from 'zod';
import { MB, cron, defineModuleConfig } from '../../core/config.js';

const schema = z
  .object({
    enabled: z.boolean().default(true),
    /** health (console tile): a device with no datapoint for this long is silent (red) */
    silentMinutes: z.number().positive().default(60),
    throttleSeconds: z.number().nonnegative().default(15),
    maxDatapoints: z.number().int().positive().default(10000),
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(5 * MB),
    emptyStatus: z.union([z.literal(200), z.literal(204), z.literal(304)]).default(304),
    retentionDays: z.number().positive().nullable().default(null),
    retentionCron: cron.default('17 * * * *'),
    /** an uplink for an unknown networkId creates the device (in the user's default site); false: 404 */
    autoCreateDevices: z.boolean().default(true),
  })
  .strict()
  .prefault({});

export type ConduitConfig = z.output<typeof schema>;

export const conduitConfig = defineModuleConfig({
  name: 'conduit',
  schema,
  secretFiles: [],
  resolve: (c): ConduitConfig => c,
});

declare module '../../core/config.js' {
  interface ModuleConfigs {
    conduit: ConduitConfig;
  }
  interface ModuleConfigInputs {
    conduit?: z.input<typeof schema>;
  }
}
