/**
 * Group commit for ingest. A commit costs an fsync (store.synchronous FULL), which is most of the
 * cost of a batch; batches whose requests are ready in the same event-loop turn share one outer
 * transaction. Each batch still runs in its own savepoint (better-sqlite3 nests transactions), so
 * a refused batch rolls back alone; every request is answered only after the outer COMMIT.
 */
import type { DB } from '../../core/db.js';

interface Job<A> {
  args: A;
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<A> {
  private queue: Array<Job<A>> = [];
  private scheduled = false;

  /** `apply` must be a better-sqlite3 transaction function (so that nested it is a savepoint) */
  constructor(
    private readonly db: DB,
    private readonly apply: (args: A) => number,
  ) {}

  submit(args: A): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ args, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    const results: Array<{ n: number } | { err: unknown }> = [];
    try {
      this.db
        .transaction(() => {
          for (const j of jobs) {
            try {
              results.push({ n: this.apply(j.args) });
            } catch (err) {
              results.push({ err });
            }
          }
        })
        .immediate();
    } catch (err) {
      for (const j of jobs) j.reject(err);
      return;
    }
    jobs.forEach((j, i) => {
      const r = results[i]!;
      if ('n' in r) j.resolve(r.n);
      else j.reject(r.err);
    });
  }
}
