/** Long-polls waiting for a command to finish (GET /admin/push/commands/:id?waitSeconds): woken by id, or all at close. */
import { EventEmitter } from 'node:events';

export class FinishWaiters {
  private readonly events = new EventEmitter();
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** Resolves when `finished(id)` is called, after `ms`, or when `release()` is called. */
  wait(id: string, ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off(id, done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.once(id, done);
      this.waiters.add(done);
    });
  }

  finished(id: string): void {
    this.events.emit(id);
  }

  /** Lets every wait return now, and every later one at once. */
  release(): void {
    this.closed = true;
    for (const w of [...this.waiters]) w();
  }
}
