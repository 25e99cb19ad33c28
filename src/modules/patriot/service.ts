/**
 * The patriot service shared by the API, the CLI and the importer: the keys registry, the store and
 * the per-client XML writer.
 *
 * XML hand-over (contract with the importer): a client's file is `<xmlDir>/<key_name>/<client_id>.xml`,
 * written with writeFileDurable (temp name, fsync, rename, fsync dir). Before each write the client's
 * patriot_client_state row is set to status 'changed' with xml_version + 1 (attempts kept), so a
 * file on disk is never newer than the version the database shows. Writes of one file are queued
 * one after another and each renders the store as it is when its turn comes, so the last write
 * always carries the latest data, whatever order concurrent requests finish in. We never rely on the
 * file still being there afterwards (the importer renames it away while it uploads).
 */
import { readdir, rm } from 'node:fs/promises';
import type { Log } from '../../core/logger.js';
import type { Config } from '../../core/config.js';
import type { DB } from '../../core/db.js';
import { exists, safeJoin, unlinkIfExists, writeFileDurable } from '../../core/files.js';
import { KeysRegistry } from './keys.js';
import { PatriotStore } from './store.js';
import { buildClientXml } from './xml.js';

export class PatriotService {
  readonly keys: KeysRegistry;
  readonly store: PatriotStore;
  readonly xmlDir: string;
  private readonly queue = new Map<string, Promise<unknown>>();

  constructor(
    config: Config,
    db: DB,
    private readonly log: Log,
    opts: { watchKeys?: boolean } = {},
  ) {
    this.xmlDir = config.patriot.xmlDir;
    this.keys = new KeysRegistry(config.patriot.keysFile, log);
    if (opts.watchKeys !== false) this.keys.watch(config.patriot.keysReloadMs);
    this.store = new PatriotStore(db);
  }

  /** `<xmlDir>/<key_name>/<client_id>.xml` (key names are validated; safeJoin refuses anything else). */
  xmlPath(keyName: string, clientId: number): string {
    return safeJoin(this.xmlDir, keyName, `${clientId}.xml`);
  }

  /**
   * (Re)writes one client's XML from the store. Returns true when a file was written; false when
   * the client does not exist (its file is removed) or its key is no longer in keys.json (nothing
   * written: the port that names it in Patriot is unknown; logged).
   * The state row is set (status 'changed', xml_version + 1) before the file is written.
   */
  writeClientXml(keyName: string, clientId: number, opts: { marked?: boolean } = {}): Promise<boolean> {
    const file = this.xmlPath(keyName, clientId);
    const prev = this.queue.get(file) ?? Promise.resolve();
    const write = () => this.writeNow(keyName, clientId, file, opts.marked === true);
    const next = prev.then(write, write);
    this.queue.set(file, next);
    const cleanup = () => {
      if (this.queue.get(file) === next) this.queue.delete(file);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  /** `marked`: the caller already set the state row in the transaction of its change (saves a commit). */
  private async writeNow(keyName: string, clientId: number, file: string, marked: boolean): Promise<boolean> {
    const client = this.store.getClient(keyName, clientId);
    if (!client) {
      await unlinkIfExists(file);
      return false;
    }
    const key = this.keys.get(keyName);
    if (!key) {
      this.log.warn(
        { key_name: keyName, client_id: clientId },
        'patriot: key no longer in keys.json; client XML not written',
      );
      return false;
    }
    const xml = buildClientXml(key, client);
    if (!marked) this.store.clientState.markChanged(keyName, clientId);
    await writeFileDurable(file, xml);
    return true;
  }

  /**
   * Start-up repair after a crash (call once the importer has restored its claims, before requests):
   * removes the temp files of interrupted XML writes (`<id>.xml.<number>`: never renamed, never
   * acknowledged), and rewrites the XML of every 'changed' client whose file is missing (its change
   * was committed but the process stopped, or the write failed, before the file was written).
   */
  async repairAfterCrash(): Promise<{ temps: number; rewritten: number }> {
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
    for (const c of this.store.clientState.changedClients()) {
      let file: string;
      try {
        file = this.xmlPath(c.key_name, c.client_id);
      } catch {
        continue;
      }
      if (
        !(await exists(file)) &&
        (await this.writeClientXml(c.key_name, c.client_id, { marked: true }).catch(() => false))
      )
        rewritten++;
    }
    if (temps || rewritten)
      this.log.warn(
        { temps, rewritten },
        'patriot: repaired the XML folder after an interrupted run (temp files removed, missing client files rewritten)',
      );
    return { temps, rewritten };
  }

  /** Waits for every queued XML write (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.queue.size) await Promise.allSettled([...this.queue.values()]);
  }

  async close(): Promise<void> {
    this.keys.stop();
    await this.idle();
  }
}
