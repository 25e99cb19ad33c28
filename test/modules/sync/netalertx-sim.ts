/**
 * A NetAlertX peer simulator written from ../shared/specs/peer-notes.md (section NetAlertX) and the
 * spec, independent of fieldhub's code (own crypto, own Devices DDL):
 * - hubs: `26.1` (POST /sync reads a form only; a JSON post gets a 200 and stores empty fields;
 *   devices inserted with one INSERT built from the *first* device's keys, values by position, one
 *   transaction: any failure inserts nothing) and `26.6` (JSON only, 415 to a form, 422 without
 *   `data`; insert by column name, unknown keys dropped, devMac lower-cased, a failing device dropped);
 * - nodes: `26.1` posts a form, `26.6` posts JSON; both serve GET /sync as handle_sync_get does.
 * The Devices table has NetAlertX's NOT NULL columns, defaults and CHECK constraints.
 */
import Database from 'better-sqlite3';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Release = '26.1' | '26.6';

const BOOL = (n: string, d: 0 | 1) => `${n} INTEGER NOT NULL DEFAULT ${d} CHECK (${n} IN (0, 1))`;
/** peer-notes: the Devices table (26.5-26.8 server/db/schema/app.sql), in column order */
export const DEVICES_DDL = `CREATE TABLE Devices (
  devMac TEXT NOT NULL PRIMARY KEY, devName TEXT NOT NULL DEFAULT '(unknown)', devOwner TEXT NOT NULL DEFAULT '(unknown)',
  devType TEXT, devVendor TEXT, ${BOOL('devFavorite', 0)}, devGroup TEXT, devComments TEXT,
  devFirstConnection DATETIME NOT NULL, devLastConnection DATETIME NOT NULL, devLastIP TEXT NOT NULL,
  devPrimaryIPv4 TEXT, devPrimaryIPv6 TEXT, devVlan TEXT, devForceStatus TEXT, ${BOOL('devStaticIP', 0)}, ${BOOL('devScan', 1)},
  ${BOOL('devLogEvents', 1)}, ${BOOL('devAlertEvents', 1)}, ${BOOL('devAlertDown', 0)}, ${BOOL('devSkipRepeated', 0)},
  devLastNotification DATETIME, ${BOOL('devPresentLastScan', 0)}, ${BOOL('devIsNew', 1)}, devLocation TEXT, ${BOOL('devIsArchived', 0)},
  devParentMAC TEXT, devParentPort INTEGER, devParentRelType TEXT, devIcon TEXT, devGUID TEXT, devSite TEXT, devSSID TEXT,
  devSyncHubNode TEXT, devSourcePlugin TEXT, devFQDN TEXT, devMacSource TEXT, devNameSource TEXT, devFQDNSource TEXT,
  devLastIPSource TEXT, devVendorSource TEXT, devSSIDSource TEXT, devParentMACSource TEXT, devParentPortSource TEXT,
  devParentRelTypeSource TEXT, devVlanSource TEXT, devCustomProps TEXT)`;

/** NetAlertX's server/crypto_utils.py */
export function encrypt(plain: string, passphrase: string): string {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', createHash('sha256').update(passphrase).digest(), iv);
  return iv.toString('base64') + Buffer.concat([c.update(plain, 'utf8'), c.final()]).toString('base64');
}
export function decrypt(data: string, passphrase: string): string {
  const d = createDecipheriv(
    'aes-256-cbc',
    createHash('sha256').update(passphrase).digest(),
    Buffer.from(data.slice(0, 24), 'base64'),
  );
  return Buffer.concat([d.update(Buffer.from(data.slice(24), 'base64')), d.final()]).toString('utf8');
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};
const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c)).on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
  });

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

export interface Posted {
  contentType: string;
  node_name: string;
  plugin: string;
  data: string;
}

export class SimHub {
  readonly db = new Database(':memory:');
  readonly posts: Posted[] = [];
  /** insert failures (26.1: the whole payload; 26.6: one device each) */
  readonly errors: string[] = [];
  private server?: Server;
  url = '';

  constructor(
    readonly release: Release,
    readonly o: { token: string; key: string; answerSuccess?: boolean },
  ) {
    this.db.exec(DEVICES_DDL);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listen(this.server);
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
    this.db.close();
  }

  rows(): Array<Record<string, unknown>> {
    return this.db.prepare('SELECT * FROM Devices ORDER BY devMac').all() as Array<Record<string, unknown>>;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (req.headers.authorization !== `Bearer ${this.o.token}`)
      return send(res, 403, { success: false, message: 'ERROR: Not authorized', error: 'Forbidden' });
    if (req.method !== 'POST' || req.url !== '/sync')
      return send(res, 404, { success: false, error: 'API route not found' });
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    let f: Record<string, string>;
    if (this.release === '26.1') {
      // request.form: empty unless a form was posted
      f = ct === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(body)) : {};
    } else {
      if (ct !== 'application/json')
        return send(res, 415, {
          error: 'Invalid Content-Type',
          message: 'Content-Type must be application/json',
          success: false,
        });
      f = JSON.parse(body) as Record<string, string>;
      if (f.data === undefined)
        return send(res, 422, { success: false, error: "Missing required 'data'", details: [] });
    }
    const p: Posted = { contentType: ct, node_name: f.node_name ?? '', plugin: f.plugin ?? '', data: f.data ?? '' };
    this.posts.push(p);
    if (p.plugin === 'SYNC' && p.data) {
      const text = this.o.key ? decrypt(p.data, this.o.key) : p.data;
      // up to 26.5 the hub reads the wrong part of the file name for pushed devices
      this.insert(
        (JSON.parse(text) as { data: Array<Record<string, unknown>> }).data,
        this.release === '26.1' ? 'encoded' : p.node_name,
      );
    }
    const message = 'Data received and stored successfully';
    send(res, 200, this.o.answerSuccess ? { success: true, message } : { message });
  }

  /** The hub's pull: GET <node>/sync, base64 only (NetAlertX does not decrypt pulled data). */
  async pull(nodeUrl: string, headers: Record<string, string> = {}): Promise<{ status: number; node_name?: string }> {
    const r = await fetch(`${nodeUrl}/sync`, { headers: { authorization: `Bearer ${this.o.token}`, ...headers } });
    if (r.status !== 200) return { status: r.status };
    const j = (await r.json()) as { node_name: string; data_base64: string };
    const doc = JSON.parse(Buffer.from(j.data_base64, 'base64').toString('utf8')) as {
      data: Array<Record<string, unknown>>;
    };
    this.insert(doc.data, j.node_name);
    return { status: 200, node_name: j.node_name };
  }

  private insert(devices: Array<Record<string, unknown>>, node: string): void {
    if (devices.length === 0) return;
    if (this.release === '26.1') {
      // the INSERT is built from the first device's keys; every device's values are taken by position
      const keys = Object.keys(devices[0]!).filter((k) => k !== 'devSyncHubNode');
      try {
        const st = this.db.prepare(
          `INSERT INTO Devices (${[...keys, 'devSyncHubNode'].join(', ')}) VALUES (${[...keys, ''].map(() => '?').join(', ')})`,
        );
        this.db.transaction(() => {
          for (const d of devices)
            st.run(
              ...Object.entries(d)
                .filter(([k]) => k !== 'devSyncHubNode')
                .map(([, v]) => v),
              node,
            );
        })();
      } catch (e) {
        this.errors.push((e as Error).message);
      }
      return;
    }
    const cols = new Set(
      (this.db.prepare('PRAGMA table_info(Devices)').all() as Array<{ name: string }>).map((c) => c.name),
    );
    for (const d of devices) {
      const kept = Object.entries(d).filter(([k]) => cols.has(k) && k !== 'devSyncHubNode');
      const rec = Object.fromEntries(kept);
      rec.devMac = String(rec.devMac).toLowerCase();
      const keys = [...Object.keys(rec), 'devSyncHubNode'];
      try {
        // SYNC_BEHAVIOR copy-new: unknown MACs only
        this.db
          .prepare(`INSERT OR IGNORE INTO Devices (${keys.join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`)
          .run(...Object.values(rec), node);
      } catch (e) {
        this.errors.push((e as Error).message);
      }
    }
  }
}

export class SimNode {
  private server?: Server;
  url = '';

  constructor(
    readonly release: Release,
    readonly o: { name: string; token: string; key: string; devices: Array<Record<string, unknown>> },
  ) {}

  private table(): string {
    return JSON.stringify({ data: this.o.devices });
  }

  /** handle_sync_get: base64 of api/table_devices.json as it is */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${this.o.token}`)
        return send(res, 403, { success: false, message: 'ERROR: Not authorized', error: 'Forbidden' });
      const ts = new Date().toISOString().slice(0, 19).replace('T', ' ');
      send(res, 200, {
        node_name: this.o.name,
        status: 200,
        message: 'OK',
        data_base64: Buffer.from(this.table()).toString('base64'),
        timestamp: ts,
      });
    });
    this.url = await listen(this.server);
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }

  /** The SYNC plugin's send_data: the form before 26.6, JSON from 26.6 */
  async push(hubUrl: string): Promise<number> {
    const data = this.o.key ? encrypt(this.table(), this.o.key) : this.table();
    const fields = { data, node_name: this.o.name, plugin: 'SYNC', file_path: '/app/api/table_devices.json' };
    const json = this.release === '26.6';
    const r = await fetch(`${hubUrl}/sync`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.o.token}`,
        'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
      },
      body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
    });
    await r.arrayBuffer();
    return r.status;
  }
}
