/**
 * The per-client XML files, written in batches: the files asked for while one batch is on disk make
 * up the next. A batch renders each file (from the store, as it is when the batch starts), writes
 * each to a temp name `<id>.xml.<digits>` with its fsync, all at once in the libuv pool, renames each
 * over its final name after its own fsync, and then fsyncs every folder it touched once; only then is
 * any of its callers answered. So N concurrent writes cost N file fsyncs run together and one folder
 * fsync, instead of N of each one after another. A file asked for twice in a batch is written once
 * (both callers get that write, which carries the latest data); batches run one after another, so
 * two writes of one file are never on disk at the same time.
 *
 * A crash leaves either the old file or the new one under the final name (rename is atomic), and
 * perhaps a temp file, which the start-up repair removes (service.ts: names `<digits>.xml.<digits>`).
 */
import { randomInt } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirAsync, unlinkIfExists } from '../../core/files.js';

/** The file's text, or null to remove the file, or undefined to leave it alone (returns false). */
export type Render = (keyName: string, clientId: number) => string | null | undefined;

interface Entry {
  file: string;
  keyName: string;
  clientId: number;
  waiters: Array<{ resolve: (written: boolean) => void; reject: (e: unknown) => void }>;
}

type Outcome = { ok: boolean } | { error: unknown };

/** Writes `text` under a temp name beside `file` and fsyncs it; returns the temp name. */
async function writeTemp(file: string, text: string): Promise<string> {
  const temp = `${file}.${randomInt(1e9, 1e12)}`;
  const fh = await open(temp, 'wx', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlinkIfExists(temp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return temp;
}

/** The folders whose entries changed when mkdir created `made` ... `dir`: dirname(made) up to dirname(dir). */
function createdParents(made: string, dir: string): string[] {
  const out: string[] = [];
  const top = path.dirname(made);
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    out.push(d);
    if (d === top || d === path.dirname(d)) return out;
  }
}

export class XmlBatches {
  private next = new Map<string, Entry>();
  private running: Promise<void> | undefined;
  private scheduled = false;

  constructor(private readonly render: Render) {}

  /** Writes (or removes) one client's file in the next batch; resolves once that is durable. */
  write(file: string, keyName: string, clientId: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let e = this.next.get(file);
      if (!e) this.next.set(file, (e = { file, keyName, clientId, waiters: [] }));
      e.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when no batch is queued or running. */
  async idle(): Promise<void> {
    while (this.running || this.next.size) await (this.running ?? new Promise((r) => setImmediate(r)));
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // after this turn's other requests have queued theirs
    setImmediate(() => {
      this.scheduled = false;
      if (this.running || this.next.size === 0) return;
      const batch = [...this.next.values()];
      this.next = new Map();
      this.running = this.run(batch).finally(() => {
        this.running = undefined;
        if (this.next.size) this.schedule();
      });
    });
  }

  private async run(batch: Entry[]): Promise<void> {
    /** folder -> the entries whose rename (or removal) its fsync makes durable */
    const dirs = new Map<string, Entry[]>();
    const touched = (dir: string, e: Entry) => {
      const inDir = dirs.get(dir) ?? [];
      inDir.push(e);
      dirs.set(dir, inDir);
    };
    const settled = await Promise.all(
      batch.map(async (e): Promise<Outcome> => {
        try {
          const text = this.render(e.keyName, e.clientId);
          if (text === undefined) return { ok: false };
          const dir = path.dirname(e.file);
          if (text === null) {
            // no client: its file goes; nothing to make durable when there was none (nor its folder)
            if (!(await unlinkIfExists(e.file))) return { ok: false };
          } else {
            const temp = await writeTemp(e.file, text).catch(async (err: NodeJS.ErrnoException) => {
              if (err.code !== 'ENOENT') throw err;
              // the key's first file (or its folder was removed): the new folders' entries made durable too
              const made = await mkdir(dir, { recursive: true });
              if (made) for (const d of createdParents(made, dir)) touched(d, e);
              return writeTemp(e.file, text);
            });
            await rename(temp, e.file);
          }
          touched(dir, e);
          return { ok: text !== null };
        } catch (error) {
          return { error };
        }
      }),
    );
    // one fsync per folder makes every rename (and removal) in it durable
    const dirErrors = new Map<Entry, unknown>();
    await Promise.all(
      [...dirs].map(([dir, entries]) =>
        fsyncDirAsync(dir).catch((error: unknown) => {
          for (const e of entries) dirErrors.set(e, error);
        }),
      ),
    );
    batch.forEach((e, i) => {
      const r = settled[i]!;
      const error = 'error' in r ? r.error : dirErrors.get(e);
      for (const w of e.waiters) {
        if (error !== undefined) w.reject(error);
        else w.resolve((r as { ok: boolean }).ok);
      }
    });
  }
}
