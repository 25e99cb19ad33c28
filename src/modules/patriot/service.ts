/**
 * The patriot service shared by the API, the CLI and the importer: the keys registry, the store, the
 * module's write ops (writes.ts: through the writer thread in the server) and the per-client XML writer.
 *
 * XML hand-over (contract with the importer): a client's file is `<xmlDir>/<key_name>/<client_id>.xml`,
 * written atomically and durably (temp name, fsync, rename, fsync of the folder; xml-files.ts). Before
 * each write the client's patriot_client_state row is set to status 'changed' with xml_version + 1
 * (attempts kept) and committed, so a file on disk is never newer than the version the database shows.
 * The files asked for while one batch is being written make up the next batch; each file is rendered
 * from the store when its batch starts, so the last write always carries the latest data, whatever
 * order concurrent requests finish in. We never rely on the file still being there afterwards (the
 * importer renames it away while it uploads).
 *
 * On PostgreSQL (store.driver "postgres") the per-client XML is a row of `patriot_client_xml` instead,
 * written by the change's own transaction (writes-pg.ts), so there are no files, batches or repairs
 * here: `afterChange` has nothing left to do, and a rewrite is one write op.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import type { Log } from '../../core/logger.js';
import type { Config } from '../../core/config.js';
import type { DB } from '../../core/db.js';
import { exists, safeJoin } from '../../core/files.js';
import { PgStore, PgWriter } from '../../core/pg.js';
import { KeysRegistry, type ApiKey } from './keys.js';
import { PatriotStorePg } from './store-pg.js';
import { PatriotStore, type PatriotReads } from './store.js';
import { buildClientXml } from './xml.js';
import { XmlBatches } from './xml-files.js';
import { writesPg } from './writes-pg.js';
import { localWrites, writerWrites, type RunWrite } from './writes.js';

export class PatriotService {
  readonly keys: KeysRegistry;
  readonly store: PatriotReads;
  readonly xmlDir: string;
  /** the PostgreSQL store (store.driver "postgres"), else null: the XML is in the database */
  readonly pg: PgStore | null;
  /** the module's write ops (writes.ts): the writer thread in the server, this connection elsewhere */
  readonly write: RunWrite;
  private readonly files: XmlBatches;

  constructor(
    config: Config,
    db: DB | PgStore,
    private readonly log: Log,
    opts: { watchKeys?: boolean; write?: RunWrite } = {},
  ) {
    this.xmlDir = config.patriot.xmlDir;
    this.keys = new KeysRegistry(config.patriot.keysFile, log);
    if (opts.watchKeys !== false) this.keys.watch(config.patriot.keysReloadMs);
    if (db instanceof PgStore) {
      this.pg = db;
      this.store = new PatriotStorePg(db);
      this.write = opts.write ?? writerWrites(new PgWriter(db, writesPg()));
    } else {
      this.pg = null;
      this.store = new PatriotStore(db);
      this.write = opts.write ?? localWrites(db);
    }
    this.files = new XmlBatches((keyName, clientId) => this.render(keyName, clientId));
  }

  /** `<xmlDir>/<key_name>/<client_id>.xml` (key names are validated; safeJoin refuses anything else). */
  xmlPath(keyName: string, clientId: number): string {
    return safeJoin(this.xmlDir, keyName, `${clientId}.xml`);
  }

  /**
   * (Re)writes one client's XML from the store. Returns true when a file was written; false when
   * the client does not exist (its file is removed) or its key is no longer in keys.json (nothing
   * written: the port that names it in Patriot is unknown; logged).
   * The state row is set (status 'changed', xml_version + 1) and committed before the file is written;
   * `marked`: the caller already did so in the transaction of its change (saves a commit).
   */
  async writeClientXml(keyName: string, clientId: number, opts: { marked?: boolean } = {}): Promise<boolean> {
    if (this.pg) {
      // one transaction: (unless marked) the state row, and the XML row from the store as it is then
      const key = this.keys.get(keyName);
      if (!key) this.keyGone(keyName, clientId);
      const op = opts.marked === true || !key ? 'patriot.writeXml' : 'patriot.markChanged';
      return (await this.write<boolean | null>(op, { k: keyName, id: clientId, key })) === true;
    }
    const file = this.xmlPath(keyName, clientId);
    if (opts.marked !== true && this.keys.get(keyName)) {
      await this.write('patriot.markChanged', { k: keyName, id: clientId });
    }
    return this.files.write(file, keyName, clientId);
  }

  /**
   * What a change op of the API takes besides its own arguments: on PostgreSQL the key's entry of
   * keys.json, so the op renders the client's XML in its transaction; nothing on SQLite.
   */
  changeArgs(keyName: string): { key?: ApiKey } {
    return this.pg ? { key: this.keys.get(keyName) } : {};
  }

  /** After a change op committed: on SQLite its client's file is written (answered after its fsync); on PostgreSQL the op did it. */
  async afterChange(keyName: string, clientId: number): Promise<void> {
    if (!this.pg) await this.writeClientXml(keyName, clientId, { marked: true });
    else if (!this.keys.get(keyName)) this.keyGone(keyName, clientId);
  }

  /** Whether the client's XML is there to hand over (its file on SQLite, its row on PostgreSQL). */
  async hasXml(keyName: string, clientId: number): Promise<boolean> {
    if (!this.pg) return exists(this.xmlPath(keyName, clientId));
    const r = await this.pg.query('SELECT 1 FROM patriot_client_xml WHERE key_name = $1 AND client_id = $2', [
      keyName,
      clientId,
    ]);
    return r.rows.length > 0;
  }

  private keyGone(keyName: string, clientId: number): void {
    this.log.warn(
      { key_name: keyName, client_id: clientId },
      'patriot: key no longer in keys.json; client XML not written',
    );
  }

  /** The file's text now, or null to remove it (no such client), or undefined to leave it (key gone). SQLite only. */
  private render(keyName: string, clientId: number): string | null | undefined {
    const client = (this.store as PatriotStore).getClient(keyName, clientId);
    if (!client) return null;
    const key = this.keys.get(keyName);
    if (!key) {
      this.keyGone(keyName, clientId);
      return undefined;
    }
    return buildClientXml(key, client);
  }

  /**
   * Start-up repair after a crash (call once the importer has restored its claims, before requests):
   * removes the temp files of interrupted XML writes (`<id>.xml.<number>`: never renamed, never
   * acknowledged), and rewrites the XML of every 'changed' client whose file is missing or differs
   * from what the store holds now (its change was committed but the process stopped, or the write
   * failed, before the file was written: the folder may still hold the client's previous file).
   */
  async repairAfterCrash(): Promise<{ temps: number; rewritten: number }> {
    // on PostgreSQL a change and its XML commit together: nothing to repair
    if (this.pg) return { temps: 0, rewritten: 0 };
    let temps = 0;
    let keys: string[] = [];
    try {
      keys = (await readdir(this.xmlDir, { withFileTypes: true }))
        .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
        .map((d) => d.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ err: e }, 'patriot: cannot list the XML folder to repair it');
    }
    for (const k of keys) {
      const names = await readdir(safeJoin(this.xmlDir, k)).catch(() => [] as string[]);
      for (const n of names) {
        if (!/^\d+\.xml\.\d+$/.test(n)) continue;
        await rm(safeJoin(this.xmlDir, k, n), { force: true });
        temps++;
      }
    }
    let rewritten = 0;
    for (const c of await this.store.clientState.changedClients()) {
      let file: string;
      try {
        file = this.xmlPath(c.key_name, c.client_id);
      } catch {
        continue;
      }
      const want = this.render(c.key_name, c.client_id);
      if (want === undefined) continue; // its key left keys.json: nothing to hand over
      const have = await readFile(file, 'utf8').catch(() => null);
      if (have === want || (want === null && have === null)) continue;
      if (await this.writeClientXml(c.key_name, c.client_id, { marked: true }).catch(() => false)) rewritten++;
    }
    if (temps || rewritten)
      this.log.warn(
        { temps, rewritten },
        'patriot: repaired the XML folder after an interrupted run (temp files removed, missing or stale client files rewritten)',
      );
    return { temps, rewritten };
  }

  /** Waits for every queued XML write (shutdown, tests). */
  idle(): Promise<void> {
    return this.files.idle();
  }

  async close(): Promise<void> {
    this.keys.stop();
    await this.idle();
  }
}
