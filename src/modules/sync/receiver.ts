/**
 * The receiver: stores a received payload as NetAlertX's file. Its sequence number and `received`
 * row are written by the core writer thread (writes.ts `sync.receive`), which group-commits the
 * payloads arriving together (one fsync, off the event loop); meanwhile the raw data is written to a
 * temp file and fsynced, renamed to its numbered name after the COMMIT. Until its file is in place a
 * payload is in flight, so the worker does not take it for a lost one.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import type { Log } from '../../core/logger.js';
import { safeJoin, type DurableDir } from '../../core/files.js';
import { fileNames } from './names.js';
import type { Source } from './store.js';
import { TAG } from './text.js';
import type { SyncWrite } from './writes.js';

/** A payload as a node posted it or as it was pulled from one. */
export interface Received {
  plugin: string;
  node: string;
  data: string;
  source: Source;
  clientFilePath?: string;
}

/** A payload could not be stored (its file write failed): recorded as lost; the peer is told so. */
export class StoreFailedError extends Error {
  override name = 'StoreFailedError';
}

/**
 * The payloads whose file is not written yet (shared by the receiver and the worker). A row is
 * committed by the writer thread before the main thread learns its id, so every id above the highest
 * one learnt (`known`) counts as in flight too; ids only grow (sync_received rows are never deleted).
 */
export class InFlight {
  private readonly ids = new Set<number>();

  /** @param known the highest id of sync_received at start-up (0 when empty) */
  constructor(private known: number) {}

  add(id: number): void {
    this.ids.add(id);
    if (id > this.known) this.known = id;
  }

  delete(id: number): void {
    this.ids.delete(id);
  }

  has(id: number): boolean {
    return id > this.known || this.ids.has(id);
  }
}

export class Receiver {
  private temps = 0;

  constructor(
    private readonly write: SyncWrite,
    private readonly durable: DurableDir,
    private readonly inflight: InFlight,
    private readonly payloads: { inc(labels: { source: string; result: string }): void },
    private readonly log: Log,
  ) {}

  private path(name: string): string {
    return safeJoin(this.durable.dir, name);
  }

  /**
   * Stores a payload: next sequence number and the `received` row (committed together with those of
   * the other requests the writer thread holds), then the raw data as
   * last_result.<plugin>.encoded.<node>.<seq>.log, durably: temp file fsynced, renamed, folder
   * fsynced. The temp file is written while the row commits (its name needs no number), so the two
   * fsyncs overlap; it is renamed only after the COMMIT. Resolves once stored.
   */
  async receive(p: Received): Promise<{ seq: number; file: string }> {
    const bytes = Buffer.byteLength(p.data);
    const temp = this.path(`receiving.${process.pid}.log.${++this.temps}`);
    const written = this.writeTemp(temp, p.data);
    written.catch(() => undefined); // awaited below, after the commit
    let id: number, seq: number;
    try {
      ({ id, seq } = await this.write('sync.receive', {
        plugin: p.plugin,
        node: p.node,
        source: p.source,
        bytes,
        clientFilePath: p.clientFilePath,
      }));
    } catch (e) {
      await written.then(() => rm(temp, { force: true })).catch(() => undefined);
      throw e;
    }
    // in flight until its file is written: the worker must not take it for a lost payload
    this.inflight.add(id);
    const names = fileNames(p.plugin, p.node, seq);
    try {
      await written;
      await rename(temp, this.path(names.encoded));
      await this.durable.sync();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      this.log.error({ err: e, plugin: p.plugin, node: p.node, seq }, 'sync: storing a payload failed');
      this.payloads.inc({ source: p.source, result: 'lost' });
      await rm(temp, { force: true }).catch(() => undefined);
      try {
        await this.write('sync.markFailed', {
          id,
          status: 'lost',
          error: `store failed: ${code}`,
          note: `${TAG} Failed to store data (${names.encoded}): ${code}`,
        });
      } catch (e2) {
        this.log.error({ err: e2 }, 'sync: recording a store failure failed');
      }
      throw new StoreFailedError(`${TAG} Failed to store data: ${code}`);
    } finally {
      // after the `lost` mark is committed: until then the worker would take the row for its own loss
      this.inflight.delete(id);
    }
    this.payloads.inc({ source: p.source, result: 'received' });
    return { seq, file: names.encoded };
  }

  /**
   * Writes and fsyncs a new temp file in the folder (creating the folder on the first write). Its
   * name ends in `.log.<digits>`, so start-up tidying removes one a crash left (never acknowledged).
   */
  private async writeTemp(temp: string, data: string): Promise<void> {
    let fh;
    try {
      fh = await open(temp, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(this.durable.dir, { recursive: true }); // first write, or the folder was removed
      fh = await open(temp, 'wx');
    }
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
