/**
 * Where clients.xml goes. A transport session downloads, renames and uploads files in one remote
 * folder; local files are named relative to the data dir (fixed names chosen by the pipeline).
 */
import type { Config } from '../../../core/config.js';
import { DirectoryTransport } from './directory.js';
import { SmbclientTransport } from './smbclient.js';

export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    /** e.g. NT_STATUS_LOGON_FAILURE, ENOENT, TIMEOUT */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface RemoteSession {
  /** Copies remote `name` to the local file `local` (relative to the data dir); false when the remote file does not exist. */
  get(name: string, local: string): Promise<boolean>;
  /** Renames without replacing: 'missing' when `from` does not exist, 'exists' when `to` does. */
  rename(from: string, to: string): Promise<'ok' | 'missing' | 'exists'>;
  /**
   * Uploads the local file (relative to the data dir) as a part file (smbclient: `<name>.<random>.part`,
   * named per upload), then renames it to `name` (so the importer never sees half a file). Fails with
   * code EXISTS when `name` exists.
   */
  put(local: string, name: string): Promise<void>;
}

export interface Transport {
  /** 'smbclient //host/share/dir' or 'directory /mnt/x', for logs (never a secret) */
  readonly describe: string;
  session<T>(fn: (s: RemoteSession) => Promise<T>): Promise<T>;
}

/** Remote names are built by the pipeline only; this refuses anything else reaching a command line. */
export function checkRemoteName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(name))
    throw new TransportError(`unsafe remote file name ${JSON.stringify(name)}`);
  return name;
}

export type SmbConfig = Config['patriot']['smb'];

export function makeTransport(smb: SmbConfig, dataDir: string): Transport {
  if (smb.transport === 'directory') {
    return new DirectoryTransport(smb.directory ?? '', dataDir);
  }
  return new SmbclientTransport(smb, dataDir);
}
