/**
 * The original's text logs under the data dir: xml_combine.log (every run) and import_errors.log
 * (clients Patriot did not import, rejected files). Lines look like Python logging's default
 * `2025-01-01 12:59:00,123 - LEVEL - message`. Messages never carry secrets (they are built from
 * file names, ids and transport errors, which never include the password).
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { formatLocal } from '../../../core/time.js';

/** Local time `YYYY-MM-DD HH:MM:SS,mmm`. */
export const logTime = (d = new Date()): string => formatLocal(d, 'YYYY-MM-DD HH:mm:ss,SSS');

/** Local time `YYYY-MM-DDTHH:MM:SS` (the original's `last_batch`). */
export const batchTime = (d = new Date()): string => formatLocal(d, 'YYYY-MM-DDTHH:mm:ss');

/** Local time `YYYYMMDD_HHMMSS` (rotation names). */
export const stampTime = (d = new Date()): string => formatLocal(d, 'YYYYMMDD_HHmmss');

export class TextLog {
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Appends lines; writes are serialized so lines of concurrent callers never interleave. */
  write(level: 'INFO' | 'WARNING' | 'ERROR', ...messages: string[]): Promise<void> {
    const t = logTime();
    const text = messages.map((m) => `${t} - ${level} - ${m.replace(/[\r\n]+/g, ' ')}\n`).join('');
    const next = this.queue.then(async () => {
      await mkdir(path.dirname(this.file), { recursive: true });
      await appendFile(this.file, text, 'utf8');
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
