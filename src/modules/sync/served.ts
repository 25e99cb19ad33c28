/**
 * The GET /sync answer, built once per change of the served devices and then served as it is.
 *
 * - Never stale: every request reads the devices version (bumped by triggers on every write to
 *   sync_devices, migration 2) and rebuilds when it moved; version and rows are read in one snapshot.
 * - Memory: the devices JSON is produced in pieces (~256 KB), each piece encrypted (when on) and
 *   base64-encoded as it comes; only the finished base64 pieces are kept (one copy of the table,
 *   1.33x its JSON size; 1.78x encrypted). The JSON, the ciphertext and the answer are never whole.
 * - IV (sync.serveEncrypted): one random IV is drawn for each build, and a build happens only for a
 *   new version, i.e. a new plaintext. Two different plaintexts therefore never share an IV; two
 *   answers of the same version are the same bytes (the same message again, which says nothing new).
 * - ETag: weak (`W/"<boot>-<version>"`; the `timestamp` differs per answer, the devices do not).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { writeDevicesJson } from './devices-out.js';
import type { DeviceRow } from './device-row.js';
import type { SyncReads } from './store.js';

/** Incremental base64: takes bytes in any pieces, hands on base64 text in pieces of whole 3-byte groups. */
export class Base64Pieces {
  private rest: Buffer = Buffer.alloc(0);
  constructor(private readonly out: (b: Buffer) => void) {}

  push(b: Buffer): void {
    const all = this.rest.length ? Buffer.concat([this.rest, b]) : b;
    const cut = all.length - (all.length % 3);
    if (cut > 0) this.out(Buffer.from(all.subarray(0, cut).toString('base64'), 'latin1'));
    this.rest = Buffer.from(all.subarray(cut));
  }

  end(): void {
    if (this.rest.length) this.out(Buffer.from(this.rest.toString('base64'), 'latin1'));
    this.rest = Buffer.alloc(0);
  }
}

export interface ServedAnswer {
  version: number;
  etag: string;
  devices: number;
  /** base64 of the devices JSON (or of the encrypted text), in pieces */
  pieces: Buffer[];
  bytes: number;
}

export interface ServedOptions {
  extraKeys: boolean;
  /** encrypt with this passphrase (NetAlertX's encrypt_data) before base64; empty = plain */
  passphrase: string;
}

export class ServedDevices {
  private current?: ServedAnswer;
  private readonly boot = randomBytes(6).toString('hex');
  /** how many times the answer was built (tests and the bench read it) */
  builds = 0;

  constructor(
    private readonly db: SyncReads,
    private readonly opts: ServedOptions,
  ) {}

  /** The current version's ETag, without building. */
  async etagNow(): Promise<string> {
    return this.etag(await this.db.devicesVersion());
  }

  private etag(version: number): string {
    return `W/"${this.boot}-${version}"`;
  }

  /** The answer for the devices as they are now (built if they changed since the last one). */
  async answer(): Promise<ServedAnswer> {
    const version = await this.db.devicesVersion();
    if (this.current?.version === version) return this.current;
    this.current = undefined; // the old answer can go before the new one is built
    this.current = await this.db.devicesSnapshot((v, devices) => this.build(v, devices));
    return this.current;
  }

  private build(version: number, devices: () => Iterable<DeviceRow>): ServedAnswer {
    const pieces: Buffer[] = [];
    let bytes = 0;
    const outer = new Base64Pieces((b) => {
      pieces.push(b);
      bytes += b.length;
    });
    let write: (s: string) => void;
    let finish: () => void;
    if (this.opts.passphrase) {
      // NetAlertX's encrypt_data: base64(IV) + base64(AES-256-CBC(SHA-256(passphrase), IV, PKCS#7)); then base64 again for data_base64
      const iv = randomBytes(16);
      const key = createHash('sha256').update(this.opts.passphrase, 'utf8').digest();
      const cipher = createCipheriv('aes-256-cbc', key, iv);
      const inner = new Base64Pieces((b) => outer.push(b));
      outer.push(Buffer.from(iv.toString('base64'), 'latin1'));
      write = (s) => inner.push(cipher.update(s, 'utf8'));
      finish = () => {
        inner.push(cipher.final());
        inner.end();
        outer.end();
      };
    } else {
      write = (s) => outer.push(Buffer.from(s, 'utf8'));
      finish = () => outer.end();
    }
    const count = writeDevicesJson(devices, { extraKeys: this.opts.extraKeys }, write);
    finish();
    this.builds++;
    return { version, etag: this.etag(version), devices: count, pieces, bytes };
  }
}

/** RFC 9110 If-None-Match, weak comparison: does it name `etag` (or `*`)? */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  const want = bare(etag);
  return header.split(',').some((t) => t.trim() === '*' || bare(t) === want);
}
