/**
 * The patriot module's config section (`patriot.*`): the client API, its keys file and XML folder,
 * and the import to Patriot (schedule, SMB share). Legacy variables of the original service:
 * KEY_FILE -> patriot.keysFile, XML_DIR -> patriot.xmlDir.
 */
import path from 'node:path';
import { z } from 'zod';
import { cron, defineModuleConfig, port, secret, secretFile } from '../../core/config.js';

const schema = z
  .object({
    enabled: z.boolean().default(true),
    /** health (console tile): clients waiting for Patriot's confirmation longer than this are amber */
    unconfirmedHours: z.number().positive().default(2),
    /** keys.json of the original service; default <dataDir>/keys.json */
    keysFile: z.string().min(1).optional(),
    /** per-client XML output; default <dataDir>/out/clients */
    xmlDir: z.string().min(1).optional(),
    /** how often the keys file is checked for edits (ms) */
    keysReloadMs: z.number().int().min(50).default(1000),
    /** request body limit of the patriot API (bytes) */
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(256 * 1024),
    import: z
      .object({
        cron: cron.default('59 * * * *'),
        maxClientsPerRun: z.number().int().positive().default(300),
        maxImportAttempts: z.number().int().positive().default(3),
      })
      .strict()
      .prefault({}),
    smb: z
      .object({
        enabled: z.boolean().default(false),
        transport: z.enum(['smbclient', 'directory']).default('smbclient'),
        host: z.string().optional(),
        port: port.default(445),
        share: z.string().optional(),
        domain: z.string().default('WORKGROUP'),
        username: z.string().optional(),
        password: secret,
        passwordFile: secretFile,
        remoteDir: z.string().default(''),
        directory: z.string().optional(),
        timeoutSeconds: z.number().positive().default(120),
        smbclientPath: z.string().default('smbclient'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

type Parsed = z.output<typeof schema>;

/** The resolved section: the defaulted paths are absolute and always set. */
export type PatriotConfig = Omit<Parsed, 'keysFile' | 'xmlDir'> & { keysFile: string; xmlDir: string };

export const patriotConfig = defineModuleConfig({
  name: 'patriot',
  schema,
  secretFiles: [['smb', 'password']],
  legacyEnv: { KEY_FILE: ['keysFile'], XML_DIR: ['xmlDir'] },
  resolve: (c, { cwd, dataDir }): PatriotConfig => ({
    ...c,
    xmlDir: path.resolve(dataDir, c.xmlDir ?? path.join('out', 'clients')),
    keysFile: path.resolve(cwd, c.keysFile ?? path.join(dataDir, 'keys.json')),
  }),
});

declare module '../../core/config.js' {
  interface ModuleConfigs {
    patriot: PatriotConfig;
  }
  interface ModuleConfigInputs {
    patriot?: z.input<typeof schema>;
  }
}
